using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Qwen.OnnxExport.Tests.Checkpoint;

/// <summary>Copies of the tiny Hugging Face checkpoint with one thing changed, written by the tests' own code (not the exporter's).</summary>
internal static class TestCheckpoint
{
    public static string Source => Path.Combine(TinyModel.Directory(), "source");

    /// <summary>SHA-256 of a file's bytes, streamed (model data files run to gigabytes).</summary>
    public static string Hash(string path)
    {
        using var stream = File.OpenRead(path);
        return System.Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(stream));
    }

    public static string Temp(string name) => Path.Combine(Path.GetTempPath(), $"qwen-test-{name}-{Guid.NewGuid():N}");

    /// <summary>A copy of the tiny checkpoint, then <paramref name="edit"/> applied to it.</summary>
    public static string Copy(Action<string>? edit = null)
    {
        var dir = Temp("src");
        Directory.CreateDirectory(dir);
        foreach (var f in Directory.GetFiles(Source))
        {
            File.Copy(f, Path.Combine(dir, Path.GetFileName(f)));
        }
        edit?.Invoke(dir);
        return dir;
    }

    public static void EditConfig(string dir, Action<JsonObject> edit)
    {
        var path = Path.Combine(dir, "config.json");
        var config = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        edit(config);
        File.WriteAllText(path, config.ToJsonString());
    }

    /// <summary>The tensors of a safetensors file: name, dtype, shape and raw bytes, in file order.</summary>
    public static List<Tensor> Read(string path)
    {
        var bytes = File.ReadAllBytes(path);
        var headerLength = (int)BitConverter.ToInt64(bytes, 0);
        using var header = JsonDocument.Parse(bytes.AsMemory(8, headerLength));
        return header.RootElement.EnumerateObject().Where(p => p.Name != "__metadata__").Select(p =>
        {
            var begin = 8 + headerLength + p.Value.GetProperty("data_offsets")[0].GetInt32();
            var end = 8 + headerLength + p.Value.GetProperty("data_offsets")[1].GetInt32();
            var shape = p.Value.GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()).ToArray();
            return new Tensor(p.Name, p.Value.GetProperty("dtype").GetString()!, shape, bytes[begin..end]);
        }).ToList();
    }

    /// <summary>Writes a safetensors file: 8-byte header length, JSON header, tensors back to back.</summary>
    public static void Write(string path, IEnumerable<Tensor> tensors)
    {
        var header = new JsonObject();
        var data = new MemoryStream();
        foreach (var t in tensors)
        {
            header[t.Name] = new JsonObject { ["dtype"] = t.DType, ["shape"] = new JsonArray(t.Shape.Select(d => (JsonNode)d).ToArray()), ["data_offsets"] = new JsonArray(data.Length, data.Length + t.Data.Length) };
            data.Write(t.Data);
        }
        var headerBytes = Encoding.UTF8.GetBytes(header.ToJsonString());
        using var file = File.Create(path);
        file.Write(BitConverter.GetBytes((long)headerBytes.Length));
        file.Write(headerBytes);
        data.WriteTo(file);
    }

    /// <summary>BF16 bytes re-encoded as F32 (exact: BF16 is the upper half of a float32) or F16 (round to nearest).</summary>
    public static Tensor Convert(Tensor t, string dtype)
    {
        var count = t.Data.Length / 2;
        var data = new byte[count * (dtype == "F32" ? 4 : 2)];
        for (var i = 0; i < count; i++)
        {
            var value = BitConverter.Int32BitsToSingle(BitConverter.ToUInt16(t.Data, 2 * i) << 16);
            var ok = dtype switch
            {
                "F32" => BitConverter.TryWriteBytes(data.AsSpan(4 * i), value),
                "F16" => BitConverter.TryWriteBytes(data.AsSpan(2 * i), (Half)value),
                _ => throw new ArgumentException(dtype, nameof(dtype)),
            };
            Assert.True(ok);
        }
        return t with { DType = dtype, Data = data };
    }

    public sealed record Tensor(string Name, string DType, long[] Shape, byte[] Data);
}
