using System.Text.Json;

namespace Qwen.Bench.Tests.Llama;

/// <summary>
/// A minimal safetensors reader for the tests (uint64 header length, JSON header of name → dtype, shape, data offsets,
/// then the data): one tensor as float32, BF16 widened by a 16-bit shift.
/// </summary>
internal static class SafeTensorsFile
{
    public static float[] Read(string path, string name)
    {
        var bytes = File.ReadAllBytes(path);
        var headerLength = (int)BitConverter.ToUInt64(bytes, 0);
        using var header = JsonDocument.Parse(bytes.AsMemory(8, headerLength));
        var entry = header.RootElement.GetProperty(name);
        var offsets = entry.GetProperty("data_offsets").EnumerateArray().Select(e => e.GetInt64()).ToArray();
        var data = bytes.AsSpan((int)(8 + headerLength + offsets[0]), (int)(offsets[1] - offsets[0]));
        Assert.Equal("BF16", entry.GetProperty("dtype").GetString());
        var values = new float[data.Length / 2];
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = BitConverter.Int32BitsToSingle((data[2 * i] | (data[(2 * i) + 1] << 8)) << 16);
        }
        return values;
    }
}
