using System.Security.Cryptography;
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
        foreach (var file in new[] { "model.onnx", "model.onnx.data", "manifest.json", "source/model.safetensors", "source/config.json" })
        {
            Assert.Equal(Hash(a, file), Hash(b, file));
        }
        Assert.NotEqual(Hash(a, "model.onnx.data"), Hash(c, "model.onnx.data"));
    }

    private string Build(int seed)
    {
        var dir = _dirs.Temp("determinism");
        ModelExporter.Export(new ExportOptions { RandomPreset = "tiny", Seed = seed, OutputDirectory = dir });
        return dir;
    }

    private static string Hash(string dir, string file) => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(Path.Combine(dir, file))));
}
