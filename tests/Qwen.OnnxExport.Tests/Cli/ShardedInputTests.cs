using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Qwen.OnnxExport.Tests.Checkpoint;

namespace Qwen.OnnxExport.Tests.Cli;

/// <summary>A checkpoint sharded with model.safetensors.index.json exports to the same bytes as the single-file one.</summary>
public sealed class ShardedInputTests : IDisposable
{
    private readonly TestDirectories _dirs = new();

    public void Dispose() => _dirs.Dispose();

    [Fact]
    public void ShardedCheckpoint_ExportsIdenticallyToSingleFile()
    {
        var source = Path.Combine(TinyModel.Directory(), "source");
        var sharded = _dirs.Temp("sharded");
        Directory.CreateDirectory(sharded);
        foreach (var f in Directory.GetFiles(source).Where(f => !f.EndsWith(".safetensors", StringComparison.Ordinal)))
        {
            File.Copy(f, Path.Combine(sharded, Path.GetFileName(f)));
        }
        Split(Path.Combine(source, "model.safetensors"), sharded);

        var a = _dirs.Temp("single");
        var b = _dirs.Temp("shards");
        Assert.Equal(0, ExportCommand.Run(["--input", source, "--output", a]));
        Assert.Equal(0, ExportCommand.Run(["--input", sharded, "--output", b]));
        Assert.Equal(TestCheckpoint.Hash(Path.Combine(a, "model.onnx.data")), TestCheckpoint.Hash(Path.Combine(b, "model.onnx.data")));
        Assert.Equal(TestCheckpoint.Hash(Path.Combine(a, "model.onnx")), TestCheckpoint.Hash(Path.Combine(b, "model.onnx")));
    }

    /// <summary>Writes the tensors of one safetensors file into two shards (alternating) plus the index.</summary>
    private static void Split(string file, string directory)
    {
        var bytes = File.ReadAllBytes(file);
        var headerLength = (int)BitConverter.ToInt64(bytes, 0);
        using var header = JsonDocument.Parse(bytes.AsMemory(8, headerLength));
        var tensors = header.RootElement.EnumerateObject().Where(p => p.Name != "__metadata__").ToList();
        var weightMap = new JsonObject();
        for (var shard = 0; shard < 2; shard++)
        {
            var name = $"model-0000{shard + 1}-of-00002.safetensors";
            var mine = tensors.Where((_, i) => i % 2 == shard).ToList();
            var newHeader = new JsonObject();
            var data = new MemoryStream();
            foreach (var t in mine)
            {
                var begin = 8 + headerLength + t.Value.GetProperty("data_offsets")[0].GetInt64();
                var end = 8 + headerLength + t.Value.GetProperty("data_offsets")[1].GetInt64();
                newHeader[t.Name] = new JsonObject
                {
                    ["dtype"] = t.Value.GetProperty("dtype").GetString(),
                    ["shape"] = JsonNode.Parse(t.Value.GetProperty("shape").GetRawText()),
                    ["data_offsets"] = new JsonArray(data.Length, data.Length + (end - begin)),
                };
                data.Write(bytes, (int)begin, (int)(end - begin));
                weightMap[t.Name] = name;
            }
            var headerBytes = Encoding.UTF8.GetBytes(newHeader.ToJsonString());
            using var output = File.Create(Path.Combine(directory, name));
            output.Write(BitConverter.GetBytes((long)headerBytes.Length));
            output.Write(headerBytes);
            data.WriteTo(output);
        }
        File.WriteAllText(Path.Combine(directory, "model.safetensors.index.json"), new JsonObject { ["metadata"] = new JsonObject(), ["weight_map"] = weightMap }.ToJsonString());
    }
}
