using System.Text.Json;

namespace Qwen.Tokenization.Tests.Tokenizer;

/// <summary>Encoding and decoding against the golden files from other implementations (tokenizers.js, transformers.js, the HF Rust tokenizer).</summary>
public sealed class QwenTokenizerTests
{
    public static TheoryData<string, string, int> GoldenSets => new()
    {
        // file, how the tokenizer is loaded, the file's line count (wc -l)
        { "tokenize.jsonl", "vocab", 53 }, { "tokenize.jsonl", "json", 53 },
        { "tokenize-rust.jsonl", "vocab", 1092 }, { "tokenize-rust.jsonl", "json", 1092 },
    };

    [Theory]
    [MemberData(nameof(GoldenSets))]
    public void Encode_GoldenCases_EqualIdForIdAndDecodeBack(string file, string source, int cases)
    {
        var tokenizer = TestTokenizers.Get(source);
        var failures = new List<string>();
        var count = 0;
        foreach (var line in File.ReadLines(GoldenFiles.Path(file)))
        {
            using var doc = JsonDocument.Parse(line);
            var text = doc.RootElement.GetProperty("text").GetString()!;
            var expected = doc.RootElement.GetProperty("ids").EnumerateArray().Select(e => e.GetInt32()).ToArray();
            var actual = tokenizer.Encode(text);
            if (!actual.SequenceEqual(expected))
            {
                failures.Add($"{JsonSerializer.Serialize(text)}: expected [{string.Join(",", expected)}] got [{string.Join(",", actual)}]");
            }
            if (tokenizer.Decode(expected) != doc.RootElement.GetProperty("decoded").GetString())
            {
                failures.Add($"decode of {JsonSerializer.Serialize(text)} differs");
            }
            count++;
        }
        Assert.Equal(cases, count);
        Assert.True(failures.Count == 0, $"{failures.Count} of {count} cases differ:\n{string.Join("\n", failures.Take(10))}");
    }

    [Theory]
    [InlineData("vocab")]
    [InlineData("json")]
    public void Decode_RustGoldenIds_EqualWithAndWithoutSkipSpecialTokens(string source)
    {
        var tokenizer = TestTokenizers.Get(source);
        var failures = 0;
        var count = 0;
        foreach (var line in File.ReadLines(GoldenFiles.Path("decode-rust.jsonl")))
        {
            using var doc = JsonDocument.Parse(line);
            var ids = doc.RootElement.GetProperty("ids").EnumerateArray().Select(e => e.GetInt32()).ToArray();
            failures += tokenizer.Decode(ids) == doc.RootElement.GetProperty("keep").GetString() ? 0 : 1;
            failures += tokenizer.Decode(ids, skipSpecialTokens: true) == doc.RootElement.GetProperty("skip").GetString() ? 0 : 1;
            count++;
        }
        Assert.Equal(1000, count);
        Assert.Equal(0, failures);
    }

    [Fact]
    public void SpecialFlags_FromTokenizerConfig_ToolCallIsAddedButNotSpecial()
    {
        var tokenizer = TestTokenizers.FromVocab;
        Assert.Equal(151657, tokenizer.GetTokenId("<tool_call>"));
        Assert.False(tokenizer.IsSpecial(151657));
        Assert.True(tokenizer.IsSpecial(151645)); // <|im_end|>
        Assert.Equal([151644], tokenizer.Encode("<|im_start|>"));
    }
}
