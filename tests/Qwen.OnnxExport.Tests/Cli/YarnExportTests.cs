using System.Text.Json.Nodes;
using Qwen.OnnxExport.Tests.Checkpoint;

namespace Qwen.OnnxExport.Tests.Cli;

/// <summary>
/// rope_scaling of type yarn through the command line: config.json's, <c>--yarn FACTOR</c> and <c>--yarn off</c>, as the
/// manifest records them; the rotary tables' values are checked against a reference in Graph/YarnRotaryTests.
/// </summary>
public sealed class YarnExportTests : IDisposable
{
    private readonly TestDirectories _dirs = new();

    public void Dispose() => _dirs.Dispose();

    private static readonly JsonObject ModelCard = new() { ["type"] = "yarn", ["factor"] = 4.0, ["original_max_position_embeddings"] = 32768 };

    private JsonObject Export(Action<JsonObject>? edit, params string[] args)
    {
        var source = _dirs.Copy(d => TestCheckpoint.EditConfig(d, c => edit?.Invoke(c)));
        var output = _dirs.Temp("out");
        var r = ExportCommandTests.Run(["--input", source, "--output", output, .. args]);
        Assert.True(r.Exit == 0, r.Error);
        return JsonNode.Parse(File.ReadAllText(Path.Combine(output, "manifest.json")))!.AsObject();
    }

    [Fact]
    public void ModelCardScaling_ReachesFactorTimesOriginal_AndIsRecorded()
    {
        var manifest = Export(c => c["rope_scaling"] = ModelCard.DeepClone());
        Assert.Equal(131_072, (int)manifest["max_seq_len"]!);
        var recorded = manifest["rope_scaling"]!.AsObject();
        Assert.Equal("yarn", (string?)recorded["type"]);
        Assert.Equal(4.0, (double)recorded["factor"]!);
        Assert.Equal(32768, (int)recorded["original_max_position_embeddings"]!);
        Assert.Equal(32.0, (double)recorded["beta_fast"]!);
        Assert.Equal(1.0, (double)recorded["beta_slow"]!);
        // Transformers' default: get_mscale(factor) = 0.1 ln(factor) + 1.
        Assert.Equal((0.1 * Math.Log(4)) + 1, (double)recorded["attention_factor"]!, 12);
    }

    [Fact]
    public void RopeTypeSpelling_AndGivenFields_AreRecordedAsGiven()
    {
        var manifest = Export(c => c["rope_scaling"] = new JsonObject { ["rope_type"] = "yarn", ["factor"] = 2.0, ["original_max_position_embeddings"] = 4096, ["beta_fast"] = 16.0, ["beta_slow"] = 2.0, ["attention_factor"] = 1.25, ["truncate"] = false });
        Assert.Equal(8192, (int)manifest["max_seq_len"]!);
        var recorded = manifest["rope_scaling"]!.AsObject();
        Assert.Equal((16.0, 2.0, 1.25, false), ((double)recorded["beta_fast"]!, (double)recorded["beta_slow"]!, (double)recorded["attention_factor"]!, (bool)recorded["truncate"]!));
    }

    [Fact]
    public void MscalePair_SetsTheDefaultAttentionFactor()
    {
        var manifest = Export(c => c["rope_scaling"] = new JsonObject { ["type"] = "yarn", ["factor"] = 4.0, ["mscale"] = 2.0, ["mscale_all_dim"] = 1.0 });
        Assert.Equal(((0.2 * Math.Log(4)) + 1) / ((0.1 * Math.Log(4)) + 1), (double)manifest["rope_scaling"]!["attention_factor"]!, 12);
    }

    [Fact]
    public void YarnOff_ExportsTheTrainedContextWithoutScaling()
    {
        var manifest = Export(c => c["rope_scaling"] = ModelCard.DeepClone(), "--yarn", "off");
        Assert.Equal(32768, (int)manifest["max_seq_len"]!);
        Assert.Null(manifest["rope_scaling"]);
    }

    [Fact]
    public void YarnFactor_AppliesTheModelCardsScalingToAPlainCheckpoint()
    {
        var manifest = Export(null, "--yarn", "4");
        Assert.Equal(131_072, (int)manifest["max_seq_len"]!);
        Assert.Equal(32768, (int)manifest["rope_scaling"]!["original_max_position_embeddings"]!);
    }

    [Fact]
    public void MaxSeqLenBeyondTheScaledContext_Refused()
        => ExportCommandTests.AssertFailed(
            ExportCommandTests.Run("--input", _dirs.Copy(d => TestCheckpoint.EditConfig(d, c => c["rope_scaling"] = ModelCard.DeepClone())), "--max-seq-len", "131073", "--output", _dirs.Temp("out")),
            "--max-seq-len must be in [1, 131072, 4 x 32768 with YaRN] (given 131073)");

    [Fact]
    public void YarnFactorBelowOne_Refused()
        => ExportCommandTests.AssertFailed(ExportCommandTests.Run("--input", TestCheckpoint.Source, "--yarn", "0.5", "--output", _dirs.Temp("out")), "--yarn must be off or a factor of at least 1 (given 0.5)");
}
