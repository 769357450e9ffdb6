using System.Text;
using System.Text.Json.Nodes;
using Qwen.OnnxExport.Tests.Checkpoint;

namespace Qwen.OnnxExport.Tests.Cli;

/// <summary>The command line's failures: exit 1, one clear line naming the file/field/value, and no output directory left.</summary>
public sealed class ExportCommandTests : IDisposable
{
    private readonly TestDirectories _dirs = new();

    private static string Source => TestCheckpoint.Source;

    public void Dispose() => _dirs.Dispose();

    private string Temp(string name) => _dirs.Temp(name);

    private string BrokenCheckpoint(Action<string> edit) => _dirs.Copy(edit);

    private static void EditConfig(string dir, Action<JsonObject> edit) => TestCheckpoint.EditConfig(dir, edit);

    internal static (int Exit, string Error, string Output) Run(params string[] args)
    {
        var error = new StringWriter();
        var original = Console.Error;
        Console.SetError(error);
        try
        {
            var output = args[Array.IndexOf(args, "--output") + 1];
            return (ExportCommand.Run(args), error.ToString(), output);
        }
        finally
        {
            Console.SetError(original);
        }
    }

    internal static void AssertFailed((int Exit, string Error, string Output) r, params string[] expected)
    {
        Assert.Equal(1, r.Exit);
        Assert.All(expected, e => Assert.Contains(e, r.Error, StringComparison.Ordinal));
        Assert.Single(r.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        Assert.StartsWith("onnx-export: error: ", r.Error.Trim(), StringComparison.Ordinal);
        Assert.False(Directory.Exists(r.Output), "a failed export left its output directory");
        Assert.Empty(Siblings(r.Output));
    }

    /// <summary>The exporter's temporary and set-aside directories next to <paramref name="output"/> (output.tmp-*, output.old-*).</summary>
    internal static IEnumerable<string> Siblings(string output)
        => Directory.EnumerateDirectories(Path.GetDirectoryName(output)!).Where(d => Path.GetFileName(d).StartsWith(Path.GetFileName(output) + ".", StringComparison.Ordinal));

    private void Fails(Action<string> edit, params string[] expected) => AssertFailed(Run("--input", BrokenCheckpoint(edit), "--output", Temp("out")), expected);

    [Theory]
    [InlineData("48")]
    [InlineData("0")]
    public void Int4BlockSizeNotAPowerOfTwoInRange_IsAUsageError(string size)
    {
        var r = Run("--random", "tiny", "--precision", "int4", "--int4-block-size", size, "--output", Temp("out"));
        Assert.Equal(2, r.Exit);
        Assert.Contains($"--int4-block-size must be 16, 32, 64, 128 or 256 (given {size})", r.Error, StringComparison.Ordinal);
        Assert.False(Directory.Exists(r.Output));
    }

    [Theory]
    [InlineData(19)]
    [InlineData(151_937)]
    public void CandidatesOutsideTwentyToVocab_FailsNamingTheRange(int k)
        => AssertFailed(Run("--input", Source, "--candidates", $"{k}", "--output", Temp("out")), $"--candidates must be in [20, 151936]", $"(given {k})");

    [Theory]
    [InlineData("fp32", "cuda", "--precision fp32 has no CUDA layout: ONNX Runtime's CUDA GroupQueryAttention takes float16 or bfloat16 only; use --precision fp16, or --precision int4 --target cuda")]
    [InlineData("fp16", "cpu", "--precision fp16 is laid out for CUDA and runs on the CPU as it is; --target cpu applies to int4 only")]
    [InlineData("int4", "gpu", "--target must be cpu or cuda (given 'gpu')")]
    public void PrecisionAndTargetWithNoLayout_FailNamingWhatToUse(string precision, string target, string expected)
        => AssertFailed(Run("--input", Source, "--precision", precision, "--target", target, "--output", Temp("out")), expected);

    [Fact]
    public void MissingInputDirectory_Fails() => AssertFailed(Run("--input", "/nonexistent/qwen", "--output", Temp("out")), "input directory not found");

    [Fact]
    public void MissingWeights_Fails() => Fails(d => File.Delete(Path.Combine(d, "model.safetensors")), "missing file");

    [Fact]
    public void MissingConfig_FailsNamingTheFile() => Fails(d => File.Delete(Path.Combine(d, "config.json")), "missing file: /", "/config.json");

    [Fact]
    public void ConfigNotJson_FailsNamingTheFile() => Fails(d => File.WriteAllText(Path.Combine(d, "config.json"), "{ \"model_type\": \"qwen2\", "), "config.json: invalid JSON");

    [Fact]
    public void ConfigValueOfTheWrongType_FailsNamingFieldAndValue()
        => Fails(d => EditConfig(d, c => c["hidden_size"] = "sixty-four"), "config.json: 'hidden_size' must be a positive integer (given \"sixty-four\")");

    [Fact]
    public void ConfigBooleanOfTheWrongType_FailsNamingFieldAndValue()
        => Fails(d => EditConfig(d, c => c["tie_word_embeddings"] = 1), "'tie_word_embeddings' must be true or false (given 1)");

    [Fact]
    public void ConfigNegativeLayerCount_Fails() => Fails(d => EditConfig(d, c => c["num_hidden_layers"] = -2), "'num_hidden_layers' must be a positive integer (given -2)");

    [Fact]
    public void MissingTokenizerFiles_Fails()
        => Fails(d => File.Delete(Path.Combine(d, "merges.txt")), "missing tokenizer files");

    [Fact]
    public void MissingTokenizerConfig_Fails()
        => Fails(d => File.Delete(Path.Combine(d, "tokenizer_config.json")), "missing tokenizer files");

    [Fact]
    public void UnsupportedModelType_Fails() => Fails(d => EditConfig(d, c => c["model_type"] = "llama"), "unsupported model_type 'llama'");

    [Fact]
    public void ShapeDisagreeingWithConfig_Fails() => Fails(d => EditConfig(d, c => c["intermediate_size"] = 256), "has shape [192, 64] but config.json implies [256, 64]");

    [Fact]
    public void TruncatedSafetensorsHeader_Fails()
        => Fails(d => File.WriteAllBytes(Path.Combine(d, "model.safetensors"), File.ReadAllBytes(Path.Combine(d, "model.safetensors"))[..100]), "safetensors header");

    [Fact]
    public void CorruptButCompleteSafetensorsHeader_Fails()
        => Fails(
            d =>
            {
                // Same length, same file size: only the JSON inside is garbage.
                var path = Path.Combine(d, "model.safetensors");
                var bytes = File.ReadAllBytes(path);
                Encoding.ASCII.GetBytes("#garbage#").CopyTo(bytes, 20);
                File.WriteAllBytes(path, bytes);
            },
            "model.safetensors: corrupt safetensors header");

    [Fact]
    public void SafetensorsHeaderWithWrongFieldTypes_Fails()
        => Fails(
            d =>
            {
                var path = Path.Combine(d, "model.safetensors");
                var tensors = TestCheckpoint.Read(path);
                TestCheckpoint.Write(path, tensors);
                var bytes = File.ReadAllBytes(path);
                var header = Encoding.UTF8.GetString(bytes, 8, (int)BitConverter.ToInt64(bytes, 0));
                var broken = Encoding.UTF8.GetBytes(header.Replace("\"shape\":[64]", "\"shape\":\"64\"", StringComparison.Ordinal));
                File.WriteAllBytes(path, [.. BitConverter.GetBytes((long)broken.Length), .. broken, .. bytes.AsSpan(8 + header.Length)]);
            },
            "corrupt safetensors header");

    [Fact]
    public void TensorDtypeDisagreeingWithConfig_FailsNamingTensorDtypeAndTorchDtype()
        => Fails(
            d =>
            {
                var path = Path.Combine(d, "model.safetensors");
                TestCheckpoint.Write(path, TestCheckpoint.Read(path).Select(t => t.Name == "model.layers.1.mlp.up_proj.weight" ? TestCheckpoint.Convert(t, "F16") : t));
            },
            "tensor 'model.layers.1.mlp.up_proj.weight' has dtype F16 but config.json torch_dtype is bfloat16 (BF16)");

    [Fact]
    public void UnsupportedTensorDtype_FailsNamingTensorAndDtype()
        => Fails(
            d =>
            {
                var path = Path.Combine(d, "model.safetensors");
                TestCheckpoint.Write(path, TestCheckpoint.Read(path).Select(t => t.Name == "model.norm.weight" ? t with { DType = "I8", Data = t.Data[..64] } : t));
            },
            "tensor 'model.norm.weight' has unsupported dtype I8 (BF16, F16 or F32 expected)");

    [Fact]
    public void UnsupportedTorchDtype_Fails() => Fails(d => EditConfig(d, c => c["torch_dtype"] = "int8"), "torch_dtype 'int8' is not supported");

    [Fact]
    public void MalformedShardIndex_FailsNamingTheIndex()
        => Fails(d => File.WriteAllText(Path.Combine(d, "model.safetensors.index.json"), "{\"weight_map\": {"), "model.safetensors.index.json: invalid JSON");

    [Fact]
    public void ShardIndexWithoutWeightMap_Fails()
        => Fails(d => File.WriteAllText(Path.Combine(d, "model.safetensors.index.json"), "{\"metadata\": {}}"), "model.safetensors.index.json: missing 'weight_map' object");

    [Fact]
    public void ShardIndexWithNonStringFileName_Fails()
        => Fails(d => File.WriteAllText(Path.Combine(d, "model.safetensors.index.json"), "{\"weight_map\": {\"model.norm.weight\": 3}}"), "weight_map['model.norm.weight'] must be a file name in the same directory (given 3)");

    [Fact]
    public void ShardIndexNamingAMissingShard_Fails()
        => Fails(d => File.WriteAllText(Path.Combine(d, "model.safetensors.index.json"), "{\"weight_map\": {\"model.norm.weight\": \"model-00001-of-00002.safetensors\"}}"), "missing file: /", "/model-00001-of-00002.safetensors");

    [Fact]
    public void ShardIndexPlacingATensorInTheWrongShard_Fails()
        => Fails(d => File.WriteAllText(Path.Combine(d, "model.safetensors.index.json"), "{\"weight_map\": {\"model.norm.weight\": \"model.safetensors\", \"lm_head.weight\": \"model.safetensors\"}}"), "weight_map puts tensor 'lm_head.weight' in model.safetensors, but that file does not hold it");

    [Theory]
    [InlineData("type", "linear")]
    [InlineData("rope_type", "dynamic")]
    [InlineData("type", "longrope")]
    public void OtherRopeScalingTypes_RefusedNamingTheType(string key, string type)
        => Fails(d => EditConfig(d, c => c["rope_scaling"] = new JsonObject { [key] = type, ["factor"] = 4.0 }), $"rope_scaling type '{type}' is not supported (only 'yarn'");

    [Fact]
    public void RopeScalingWithTwoDifferentTypes_Refused()
        => Fails(d => EditConfig(d, c => c["rope_scaling"] = new JsonObject { ["type"] = "yarn", ["rope_type"] = "linear", ["factor"] = 4.0 }), "rope_scaling type 'yarn' and 'linear' is not supported");

    [Theory]
    [InlineData("{\"type\": \"yarn\"}", "rope_scaling of type yarn needs a 'factor'")]
    [InlineData("{\"type\": \"yarn\", \"factor\": 0.5}", "rope_scaling.factor must be a number >= 1 (given 0.5)")]
    [InlineData("{\"type\": \"yarn\", \"factor\": 4, \"original_max_position_embeddings\": 0}", "rope_scaling.original_max_position_embeddings must be a positive integer (given 0)")]
    [InlineData("{\"type\": \"yarn\", \"factor\": 4, \"attention_factor\": 0}", "rope_scaling.attention_factor must be a number > 0 (given 0)")]
    [InlineData("{\"type\": \"yarn\", \"factor\": 4, \"beta_fast\": 1, \"beta_slow\": 2}", "rope_scaling.beta_fast (1) must be at least beta_slow (2)")]
    [InlineData("{\"type\": \"yarn\", \"factor\": 4, \"low_freq_factor\": 1}", "rope_scaling has an unknown key 'low_freq_factor'")]
    public void MalformedYarn_RefusedNamingTheField(string scaling, string message)
        => Fails(d => EditConfig(d, c => c["rope_scaling"] = JsonNode.Parse(scaling)), message);

    [Fact]
    public void SlidingWindow_Refused() => Fails(d => EditConfig(d, c => c["use_sliding_window"] = true), "use_sliding_window");

    [Fact]
    public void ExistingOutput_FailsWithoutForce_ReplacedWithForce()
    {
        var output = Temp("exists");
        Directory.CreateDirectory(output);
        File.WriteAllText(Path.Combine(output, "old-marker"), "the previous model");
        var r = Run("--input", Source, "--output", output);
        Assert.Equal(1, r.Exit);
        Assert.Contains("output directory exists", r.Error, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(output, "old-marker")), "a refused export touched the existing output");

        Assert.Equal(0, Run("--input", Source, "--output", output, "--force").Exit);
        Assert.True(File.Exists(Path.Combine(output, "manifest.json")));
        Assert.False(File.Exists(Path.Combine(output, "old-marker")), "--force kept files of the old output");
        Assert.Empty(Siblings(output));
    }

    [Fact]
    public void ForcedExportThatFails_LeavesTheOldOutputInPlace()
    {
        var output = Temp("keep");
        Directory.CreateDirectory(output);
        File.WriteAllText(Path.Combine(output, "old-marker"), "the previous model");
        var r = Run("--input", BrokenCheckpoint(d => EditConfig(d, c => c["model_type"] = "llama")), "--output", output, "--force");
        Assert.Equal(1, r.Exit);
        Assert.True(File.Exists(Path.Combine(output, "old-marker")), "a failed --force export removed the old output");
        Assert.Empty(Siblings(output));
    }
}
