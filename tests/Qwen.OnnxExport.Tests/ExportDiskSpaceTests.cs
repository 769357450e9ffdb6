using System.Text.Json.Nodes;
using Qwen.OnnxExport.Checkpoint;
using Qwen.OnnxExport.Tests.Checkpoint;
using Qwen.OnnxExport.Tests.Cli;

namespace Qwen.OnnxExport.Tests;

/// <summary>An export checks the free space for its weights before writing any, and records where a Hub checkpoint came from.</summary>
public sealed class ExportDiskSpaceTests : IDisposable
{
    private readonly TestDirectories _dirs = new();

    public void Dispose() => _dirs.Dispose();

    [Fact]
    public void Export_LessFreeSpaceThanTheWeights_IsRefusedNamingBothFigures_AndLeavesNothing()
    {
        var output = _dirs.Temp("out");
        var config = QwenConfig.Load(Path.Combine(TestCheckpoint.Source, "config.json"));
        var weights = ModelExporter.Plan(config, new Qwen.OnnxExport.Graph.GraphSettings(Precision.Fp32, 256)).ExternalDataLength;
        var free = weights; // enough for the weights alone, not for the margin
        string? asked = null;
        var e = Assert.Throws<ExportException>(() => ModelExporter.Export(new ExportOptions
        {
            InputDirectory = TestCheckpoint.Source,
            OutputDirectory = output,
            MaxSeqLen = 256,
            FreeBytes = path =>
            {
                asked = path;
                return free;
            },
        }));
        Assert.StartsWith("not enough disk space for the export: ", e.Message, StringComparison.Ordinal);
        Assert.Contains($"GB needed in {Path.GetDirectoryName(output)}, {free / 1e9:F2} GB free", e.Message, StringComparison.Ordinal);
        Assert.StartsWith(output + ".tmp-", asked, StringComparison.Ordinal); // the drive that will hold the output
        Assert.False(Directory.Exists(output));
        Assert.Empty(ExportCommandTests.Siblings(output));
    }

    [Fact]
    public void Export_WithAnOrigin_RecordsRepoRevisionAndCommitInTheManifest()
    {
        var output = _dirs.Temp("out");
        ModelExporter.Export(new ExportOptions
        {
            InputDirectory = TestCheckpoint.Source,
            OutputDirectory = output,
            MaxSeqLen = 64,
            Origin = new CheckpointOrigin("org/name", "v1.0", new string('a', 40)),
        });
        var source = JsonNode.Parse(File.ReadAllText(Path.Combine(output, "manifest.json")))!["source"]!;
        Assert.Equal(("org/name", "v1.0", new string('a', 40)), ((string?)source["repo"], (string?)source["revision"], (string?)source["commit"]));
        Assert.Null(source["random_preset"]);
    }
}
