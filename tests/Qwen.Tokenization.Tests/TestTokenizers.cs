using System.IO.Compression;
using Qwen.Tokenization.Tokenizer;

namespace Qwen.Tokenization.Tests;

/// <summary>The Qwen2.5 tokenizer loaded both ways, built once per test run (creation takes about a second).</summary>
internal static class TestTokenizers
{
    private static readonly Lazy<QwenTokenizer> FromVocabLazy = new(() => QwenTokenizer.FromDirectory(RepoPaths.QwenAssets));
    private static readonly Lazy<QwenTokenizer> FromJsonLazy = new(() =>
    {
        var dir = Path.Combine(Path.GetTempPath(), $"qwen-tokenizer-json-{Environment.ProcessId}");
        Directory.CreateDirectory(dir);
        using (var gz = new GZipStream(File.OpenRead(GoldenFiles.Path("tokenizer.json.gz")), CompressionMode.Decompress))
        using (var file = File.Create(Path.Combine(dir, "tokenizer.json")))
        {
            gz.CopyTo(file);
        }
        File.Copy(Path.Combine(RepoPaths.QwenAssets, "tokenizer_config.json"), Path.Combine(dir, "tokenizer_config.json"), overwrite: true);
        return QwenTokenizer.FromDirectory(dir);
    });

    /// <summary>From vocab.json + merges.txt + tokenizer_config.json (what the demo model ships).</summary>
    public static QwenTokenizer FromVocab => FromVocabLazy.Value;

    /// <summary>From tokenizer.json + tokenizer_config.json (what a Hugging Face download ships).</summary>
    public static QwenTokenizer FromJson => FromJsonLazy.Value;

    public static QwenTokenizer Get(string source) => source == "json" ? FromJson : FromVocab;
}
