using Qwen.OnnxExport.Tests.Checkpoint;

namespace Qwen.OnnxExport.Tests;

/// <summary>The same preset and seed give byte-identical files; another seed does not.</summary>
public sealed class DeterminismTests : IDisposable
{
    private readonly TestDirectories _dirs = new();

    public void Dispose() => _dirs.Dispose();

    [Fact]
    public void Export_SamePresetAndSeedTwice_ByteIdenticalFiles()
    {
        var a = Build(7);
        var b = Build(7);
        var c = Build(8);
        foreach (var file in new[] { "model.onnx", "model.onnx.data", "candidates.onnx", "manifest.json", "source/model.safetensors", "source/config.json" })
        {
            Assert.Equal(TestCheckpoint.Hash(Path.Combine(a, file)), TestCheckpoint.Hash(Path.Combine(b, file)));
        }
        Assert.NotEqual(TestCheckpoint.Hash(Path.Combine(a, "model.onnx.data")), TestCheckpoint.Hash(Path.Combine(c, "model.onnx.data")));
    }

    private string Build(int seed)
    {
        var dir = _dirs.Temp("determinism");
        ModelExporter.Export(new ExportOptions { RandomPreset = "tiny", Seed = seed, OutputDirectory = dir });
        return dir;
    }
}
