using System.Text.Json;

namespace Qwen.Reference;

/// <summary>A minimal safetensors reader written for the tests, independent of the exporter's: tensors as double.</summary>
public sealed class SafeTensorsFile
{
    private readonly Dictionary<string, double[]> _tensors = [];

    /// <summary>Reads every tensor of the file at <paramref name="path"/> (F32, F16 or BF16) into memory.</summary>
    public SafeTensorsFile(string path)
    {
        var bytes = File.ReadAllBytes(path);
        var headerLength = (int)BitConverter.ToUInt64(bytes, 0);
        using var header = JsonDocument.Parse(bytes.AsMemory(8, headerLength));
        foreach (var p in header.RootElement.EnumerateObject().Where(p => p.Name != "__metadata__"))
        {
            var dtype = p.Value.GetProperty("dtype").GetString();
            var begin = 8 + headerLength + p.Value.GetProperty("data_offsets")[0].GetInt32();
            var end = 8 + headerLength + p.Value.GetProperty("data_offsets")[1].GetInt32();
            var width = dtype == "F32" ? 4 : 2;
            var values = new double[(end - begin) / width];
            for (var i = 0; i < values.Length; i++)
            {
                var at = begin + (i * width);
                values[i] = dtype switch
                {
                    "F32" => BitConverter.ToSingle(bytes, at),
                    "F16" => (double)BitConverter.ToHalf(bytes, at),
                    "BF16" => BitConverter.Int32BitsToSingle(BitConverter.ToUInt16(bytes, at) << 16),
                    _ => throw new InvalidDataException(dtype),
                };
            }
            _tensors[p.Name] = values;
        }
    }

    /// <summary>The tensor named <paramref name="name"/>, flattened row-major.</summary>
    public double[] this[string name] => _tensors[name];

    /// <summary>Whether the file holds a tensor named <paramref name="name"/>.</summary>
    public bool Contains(string name) => _tensors.ContainsKey(name);
}
