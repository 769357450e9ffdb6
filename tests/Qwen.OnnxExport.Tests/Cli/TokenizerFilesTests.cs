using Qwen.OnnxExport.Tests.Checkpoint;

namespace Qwen.OnnxExport.Tests.Cli;

/// <summary>A real Hugging Face directory's tokenizer files and generation_config.json land in the model directory unchanged.</summary>
public sealed class TokenizerFilesTests : IDisposable
{
    private readonly TestDirectories _dirs = new();

    private static readonly string[] Files = ["tokenizer.json", "vocab.json", "merges.txt", "tokenizer_config.json", "generation_config.json"];

    public void Dispose() => _dirs.Dispose();

    [Fact]
    public void HfDirectoryWithTokenizerJson_EveryTokenizerFileCopied()
    {
        // A stand-in tokenizer.json: the exporter copies it byte for byte and never parses it.
        var source = _dirs.Copy(d => File.WriteAllText(Path.Combine(d, "tokenizer.json"), "{\"version\":\"1.0\",\"model\":{\"type\":\"BPE\"}}"));
        var output = _dirs.Temp("tok");
        ModelExporter.Export(new ExportOptions { InputDirectory = source, OutputDirectory = output });
        foreach (var f in Files)
        {
            Assert.True(File.Exists(Path.Combine(output, f)), $"{f} not copied");
            Assert.Equal(TestCheckpoint.Hash(Path.Combine(source, f)), TestCheckpoint.Hash(Path.Combine(output, f)));
        }
    }

    [Fact]
    public void HfDirectoryWithOnlyTokenizerJson_Exports()
    {
        var source = _dirs.Copy(d =>
        {
            File.WriteAllText(Path.Combine(d, "tokenizer.json"), "{\"version\":\"1.0\"}");
            File.Delete(Path.Combine(d, "vocab.json"));
            File.Delete(Path.Combine(d, "merges.txt"));
        });
        var output = _dirs.Temp("tokonly");
        ModelExporter.Export(new ExportOptions { InputDirectory = source, OutputDirectory = output });
        Assert.True(File.Exists(Path.Combine(output, "tokenizer.json")));
        Assert.False(File.Exists(Path.Combine(output, "vocab.json")));
    }
}
