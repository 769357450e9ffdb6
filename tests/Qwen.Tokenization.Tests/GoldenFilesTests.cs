using System.IO.Compression;
using Xunit.Abstractions;

namespace Qwen.Tokenization.Tests;

/// <summary>The copies this project tests against are byte-identical to the shared reference files, when those are present.</summary>
public sealed class GoldenFilesTests(ITestOutputHelper output)
{
    /// <summary>Each copy (relative to this project's Golden/ or the repository root) and its original under ../shared/qwen2.5.</summary>
    public static TheoryData<string, string> Copies => new()
    {
        { "Golden/tokenize.jsonl", "golden/tokenize.jsonl" },
        { "Golden/tokenize-rust.jsonl", "golden/tokenize-rust.jsonl" },
        { "Golden/decode-rust.jsonl", "golden/decode-rust.jsonl" },
        { "Golden/chat_template.jsonl", "golden/chat_template.jsonl" },
        { "Golden/chat_template.math.jsonl", "golden/chat_template.math.jsonl" },
        { "Golden/chat_template.jinja", "chat_template.jinja" },
        { "Golden/chat_template.math.jinja", "chat_template.math.jinja" },
        { "Golden/tokenizer.json.gz", "tokenizer.json" },
        { "assets:vocab.json", "vocab.json" },
        { "assets:merges.txt", "merges.txt" },
        { "assets:tokenizer_config.json", "tokenizer_config.json" },
    };

    [Theory]
    [MemberData(nameof(Copies))]
    public void Copy_SharedReferencePresent_ByteIdentical(string copy, string original)
    {
        // ../shared sits next to the repository root (which may be a git worktree: the directory holding Qwen.Server.sln).
        var shared = Path.GetFullPath(Path.Combine(RepoPaths.Root, "..", "shared", "qwen2.5"));
        var copyPath = copy.StartsWith("assets:", StringComparison.Ordinal)
            ? Path.Combine(RepoPaths.QwenAssets, copy["assets:".Length..])
            : GoldenFiles.Path(copy["Golden/".Length..]);
        var copyBytes = copy.EndsWith(".gz", StringComparison.Ordinal) ? Gunzip(copyPath) : File.ReadAllBytes(copyPath);
        Assert.NotEmpty(copyBytes);
        var originalPath = Path.Combine(shared, original);
        if (!File.Exists(originalPath))
        {
            output.WriteLine($"note: {originalPath} is not present (no ../shared next to {RepoPaths.Root}); the copy {copy} is checked only for being readable");
            return;
        }
        Assert.True(File.ReadAllBytes(originalPath).AsSpan().SequenceEqual(copyBytes), $"{copyPath} differs from {originalPath}");
    }

    private static byte[] Gunzip(string path)
    {
        using var gz = new GZipStream(File.OpenRead(path), CompressionMode.Decompress);
        using var bytes = new MemoryStream();
        gz.CopyTo(bytes);
        return bytes.ToArray();
    }
}
