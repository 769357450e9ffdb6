using System.Text.Json.Nodes;
using Qwen.Inference.Model;
using Qwen.Inference.Tests.Engine;

namespace Qwen.Inference.Tests.Model;

/// <summary>A broken model directory fails with an exception that names the file or the field.</summary>
public sealed class ModelManifestTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("qwen-manifest-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>The tiny model's real manifest, edited, next to an (empty) graph file.</summary>
    private string Write(Action<JsonObject> edit)
    {
        var json = JsonNode.Parse(File.ReadAllText(Path.Combine(EngineBatchingTests.TinyModel, "manifest.json")))!.AsObject();
        edit(json);
        File.WriteAllText(Path.Combine(_dir, "manifest.json"), json.ToJsonString());
        File.WriteAllBytes(Path.Combine(_dir, "model.onnx"), []);
        File.WriteAllBytes(Path.Combine(_dir, "candidates.onnx"), []);
        return _dir;
    }

    [Fact]
    public void Load_TheTinyModel_ReadsItsSizes()
    {
        var m = ModelManifest.Load(EngineBatchingTests.TinyModel);
        Assert.Equal((2, 2, 16, 151_936, "fp32"), (m.NumLayers, m.NumKvHeads, m.HeadDim, m.VocabSize, m.Precision));
    }

    [Fact]
    public void AttentionCostPerKey_FromTheShapes_ZeroWhenTheManifestLacksThem()
    {
        // By hand: tiny (hidden 64, 4 heads of 16, 2 KV heads, MLP 192) costs 2 x (2·64·64 + 2·64·32 + 3·64·192) = 98,304
        // flops per token in its matmuls and 4 x 64 = 256 per attention pair: 1/384. Qwen2.5-0.5B (896, 14 x 64, 2 KV, 4864):
        // 29,818,880 and 3,584, so 1/8320.
        Assert.Equal(1.0 / 384, ModelManifest.Load(EngineBatchingTests.TinyModel).AttentionCostPerKey, 15);
        var half = ModelManifest.Load(Write(m => (m["hidden_size"], m["num_attention_heads"], m["head_dim"], m["intermediate_size"]) = (896, 14, 64, 4864)));
        Assert.Equal(1.0 / 8320, half.AttentionCostPerKey, 15);
        Assert.Equal(0, ModelManifest.Load(Write(m => m.Remove("intermediate_size"))).AttentionCostPerKey);
    }

    [Fact]
    public void Load_TheTinyModel_ReadsItsCandidates()
    {
        var c = ModelManifest.Load(EngineBatchingTests.TinyModel).Candidates!;
        Assert.Equal(("candidates.onnx", 64), (c.OnnxFile, c.K));
        Assert.Equal(["logits", "rows"], c.Inputs.Keys.Order());
        Assert.Equal(["log_sum_exp", "row_logits", "top_ids", "top_values"], c.Outputs.Keys.Order());
    }

    [Fact]
    public void Load_NoCandidates_LoadsWithoutThem()
    {
        var dir = Write(j => j.Remove("candidates"));
        Assert.Null(ModelManifest.Load(dir).Candidates);
    }

    [Fact]
    public void Load_CandidatesGraphMissing_FileNotFoundNamingIt()
    {
        var dir = Write(j => j["candidates"]!["onnx_file"] = "missing.onnx");
        var e = Assert.Throws<FileNotFoundException>(() => ModelManifest.Load(dir));
        Assert.Contains("candidates.onnx_file 'missing.onnx'", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(151_937)]
    public void Load_CandidatesKOutOfRange_InvalidDataNamingIt(int k)
    {
        var dir = Write(j => j["candidates"]!["k"] = k);
        var e = Assert.Throws<InvalidDataException>(() => ModelManifest.Load(dir));
        Assert.Contains($"candidates.k must be in [1, 151936] (given {k}", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("inputs", "rows")]
    [InlineData("outputs", "log_sum_exp")]
    public void Load_CandidatesNameMissing_InvalidDataNamingIt(string group, string key)
    {
        var dir = Write(j => j["candidates"]![group]!.AsObject().Remove(key));
        var e = Assert.Throws<InvalidDataException>(() => ModelManifest.Load(dir));
        Assert.Contains($"candidates.{group}.{key} is missing", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_NoManifest_FileNotFoundNamingThePath()
    {
        var e = Assert.Throws<FileNotFoundException>(() => ModelManifest.Load(_dir));
        Assert.Contains("manifest.json", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_GraphFileMissing_FileNotFoundNamingOnnxFile()
    {
        var dir = Write(j => j["onnx_file"] = "missing.onnx");
        var e = Assert.Throws<FileNotFoundException>(() => ModelManifest.Load(dir));
        Assert.Contains("onnx_file 'missing.onnx'", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("num_hidden_layers")]
    [InlineData("num_key_value_heads")]
    [InlineData("head_dim")]
    [InlineData("vocab_size")]
    [InlineData("max_seq_len")]
    [InlineData("format_version")]
    public void Load_MissingSize_InvalidDataNamingTheField(string field)
    {
        var dir = Write(j => j.Remove(field));
        var e = Assert.Throws<InvalidDataException>(() => ModelManifest.Load(dir));
        Assert.Contains(field, e.Message, StringComparison.Ordinal);
        Assert.Contains("missing", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("inputs", "seqlens_k")]
    [InlineData("outputs", "present_value")]
    public void Load_MissingName_InvalidDataNamingIt(string group, string key)
    {
        var dir = Write(j => j[group]!.AsObject().Remove(key));
        var e = Assert.Throws<InvalidDataException>(() => ModelManifest.Load(dir));
        Assert.Contains($"{group}.{key}", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("precision", "int8")]
    [InlineData("kv_cache_dtype", "bfloat16")]
    public void Load_UnknownPrecisionOrDtype_InvalidDataNamingFieldAndValue(string field, string value)
    {
        var dir = Write(j => j[field] = value);
        var e = Assert.Throws<InvalidDataException>(() => ModelManifest.Load(dir));
        Assert.Contains(field, e.Message, StringComparison.Ordinal);
        Assert.Contains($"'{value}'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_NotJson_InvalidData()
    {
        File.WriteAllText(Path.Combine(_dir, "manifest.json"), "{ not json");
        Assert.Throws<InvalidDataException>(() => ModelManifest.Load(_dir));
    }
}
