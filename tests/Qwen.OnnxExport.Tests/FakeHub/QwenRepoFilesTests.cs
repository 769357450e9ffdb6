using System.Buffers.Binary;
using System.IO.Compression;
using System.Text.Json.Nodes;
using Qwen.FakeHub;
using Qwen.OnnxExport.Checkpoint;
using Qwen.OnnxExport.Tests.Checkpoint;

namespace Qwen.OnnxExport.Tests.FakeHub;

/// <summary>
/// The written repo has a real Qwen2.5 Instruct repo's file set; its shards, read here with a safetensors parser of the
/// test's own, hold the unsharded checkpoint's tensors byte for byte; its tokenizer.json equals Qwen2.5's; and the
/// exporter turns it into the same weights as the single-file checkpoint.
/// </summary>
public sealed class QwenRepoFilesTests(RepoFilesFixture files) : IClassFixture<RepoFilesFixture>
{
    [Fact]
    public void Write_TwoShards_FileSetOfQwen25InstructRepo()
    {
        // The listing of Qwen/Qwen2.5-1.5B-Instruct's main branch at huggingface.co, shard count aside.
        string[] expected =
        [
            ".gitattributes", "LICENSE", "README.md", "config.json", "generation_config.json", "merges.txt",
            "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors", "model.safetensors.index.json",
            "tokenizer.json", "tokenizer_config.json", "vocab.json",
        ];
        Assert.Equal(expected, Directory.GetFiles(files.Directory).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Contains("*.safetensors filter=lfs diff=lfs merge=lfs -text\n", File.ReadAllText(Path.Combine(files.Directory, ".gitattributes")), StringComparison.Ordinal);
        Assert.Contains("tokenizer.json filter=lfs diff=lfs merge=lfs -text\n", File.ReadAllText(Path.Combine(files.Directory, ".gitattributes")), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Write_Shards_ValidFilesHoldingTheOriginalTensorsInOrder(int shards)
    {
        var dir = TestCheckpoint.Temp("repo");
        var original = TestCheckpoint.Temp("single");
        QwenRepoFiles.Write(RepoFilesFixture.Preset, RepoFilesFixture.Seed, dir, shards);
        RandomCheckpoint.Write(RepoFilesFixture.Preset, RepoFilesFixture.Seed, original);
        var whole = ReadSafeTensors(Path.Combine(original, "model.safetensors"));

        var index = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "model.safetensors.index.json")))!;
        var weightMap = index["weight_map"]!.AsObject().ToDictionary(e => e.Key, e => (string)e.Value!);
        Assert.Equal(whole.Sum(t => (long)t.Bytes.Length), (long)index["metadata"]!["total_size"]!);
        var names = new List<string>();
        var sizes = new List<long>();
        for (var k = 1; k <= shards; k++)
        {
            var name = $"model-{k:D5}-of-{shards:D5}.safetensors";
            var tensors = ReadSafeTensors(Path.Combine(dir, name));
            Assert.NotEmpty(tensors);
            foreach (var t in tensors)
            {
                Assert.Equal(name, weightMap[t.Name]);
                var expected = whole.Single(w => w.Name == t.Name);
                Assert.Equal(expected.Header.ToJsonString(), t.Header.ToJsonString());
                Assert.True(expected.Bytes.AsSpan().SequenceEqual(t.Bytes), $"{t.Name} differs from model.safetensors");
            }
            names.AddRange(tensors.Select(t => t.Name));
            sizes.Add(tensors.Sum(t => (long)t.Bytes.Length));
        }
        Assert.Equal(whole.Select(t => t.Name), names);
        Assert.Equal(whole.Count, weightMap.Count);
        // Balanced by bytes: no shard is more than one largest tensor away from an equal share.
        var largest = whole.Max(t => t.Bytes.Length);
        Assert.All(sizes, s => Assert.InRange(s, (sizes.Sum() / shards) - largest, (sizes.Sum() / shards) + largest));
        Directory.Delete(dir, recursive: true);
        Directory.Delete(original, recursive: true);
    }

    [Fact]
    public void Write_TokenizerJson_EqualsQwen25TokenizerJson()
    {
        // The tokenizer tests' gzipped copy of Qwen2.5's tokenizer.json (byte-identical to ../shared/qwen2.5/tokenizer.json).
        var golden = Path.Combine(RepoRoot(), "tests", "Qwen.Tokenization.Tests", "Golden", "tokenizer.json.gz");
        using var gz = new GZipStream(File.OpenRead(golden), CompressionMode.Decompress);
        var expected = JsonNode.Parse(gz)!;
        var actual = JsonNode.Parse(File.ReadAllText(Path.Combine(files.Directory, "tokenizer.json")))!;
        // Compared part by part first, so a failure names the part that differs.
        foreach (var key in expected.AsObject().Select(e => e.Key))
        {
            Assert.True(JsonNode.DeepEquals(expected[key], actual[key]), $"tokenizer.json's \"{key}\" differs from Qwen2.5's");
        }
        Assert.True(JsonNode.DeepEquals(expected, actual));
    }

    [Fact]
    public void Export_ShardedRepo_SameWeightsAsSingleFileCheckpoint()
    {
        var output = TestCheckpoint.Temp("sharded-export");
        ModelExporter.Export(new ExportOptions { InputDirectory = files.Directory, OutputDirectory = output, Precision = Precision.Fp32 });
        // TinyModel's fp32 export was made from the single model.safetensors of the same preset and seed.
        Assert.Equal(TestCheckpoint.Hash(Path.Combine(TinyModel.Directory(), "model.onnx.data")), TestCheckpoint.Hash(Path.Combine(output, "model.onnx.data")));
        Directory.Delete(output, recursive: true);
    }

    /// <summary>A tensor of a safetensors file: its header entry (data_offsets left out) and its bytes.</summary>
    private sealed record Tensor(string Name, JsonObject Header, byte[] Bytes);

    /// <summary>
    /// Reads a safetensors file per the format's spec (https://github.com/huggingface/safetensors): u64 little-endian
    /// header length, JSON header, data; checks the header is padded to 8 bytes, says format pt, and its offsets tile the data exactly.
    /// </summary>
    private static List<Tensor> ReadSafeTensors(string path)
    {
        var bytes = File.ReadAllBytes(path);
        var headerLength = (int)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        Assert.Equal(0, headerLength % 8);
        var header = JsonNode.Parse(bytes.AsSpan(8, headerLength))!.AsObject();
        Assert.Equal("pt", (string?)header["__metadata__"]!["format"]);
        var data = bytes.AsSpan(8 + headerLength);
        var tensors = header.Where(e => e.Key != "__metadata__")
            .Select(e => (e.Key, Info: e.Value!.AsObject(), Begin: (long)e.Value!["data_offsets"]![0]!, End: (long)e.Value!["data_offsets"]![1]!))
            .OrderBy(t => t.Begin)
            .ToList();
        long expectedBegin = 0;
        var result = new List<Tensor>();
        foreach (var (name, info, begin, end) in tensors)
        {
            Assert.Equal(expectedBegin, begin);
            var elements = info["shape"]!.AsArray().Aggregate(1L, (a, d) => a * (long)d!);
            Assert.Equal(elements * 2, end - begin); // BF16
            var entry = new JsonObject { ["dtype"] = info["dtype"]!.DeepClone(), ["shape"] = info["shape"]!.DeepClone() };
            result.Add(new Tensor(name, entry, data[(int)begin..(int)end].ToArray()));
            expectedBegin = end;
        }
        Assert.Equal(data.Length, expectedBegin);
        return result;
    }

    /// <summary>The directory holding Qwen.Server.sln (a git worktree's root included).</summary>
    private static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Qwen.Server.sln")))
            {
                return dir.FullName;
            }
        }
        throw new DirectoryNotFoundException($"no Qwen.Server.sln above {AppContext.BaseDirectory}");
    }
}
