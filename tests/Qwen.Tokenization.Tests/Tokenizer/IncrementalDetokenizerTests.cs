using System.Text.Json;

namespace Qwen.Tokenization.Tests.Tokenizer;

/// <summary>The streaming detokenizer against whole-sequence decoding (itself checked against the Rust golden file).</summary>
public sealed class IncrementalDetokenizerTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Push_RustGoldenIdLists_ConcatenationEqualsWholeDecodeAndNoEarlyReplacementChar(bool skip)
    {
        var tokenizer = TestTokenizers.FromVocab;
        var count = 0;
        foreach (var line in File.ReadLines(GoldenFiles.Path("decode-rust.jsonl")))
        {
            count++;
            using var doc = JsonDocument.Parse(line);
            var ids = doc.RootElement.GetProperty("ids").EnumerateArray().Select(e => e.GetInt32()).ToArray();
            var detok = tokenizer.CreateDetokenizer(skip);
            var streamed = "";
            for (var i = 0; i < ids.Length; i++)
            {
                streamed += detok.Push(ids[i]);
                // What has been emitted is always a prefix of the decode of everything so far: nothing is emitted early or wrong.
                var whole = tokenizer.Decode(ids.AsSpan(0, i + 1), skip);
                Assert.StartsWith(streamed, whole, StringComparison.Ordinal);
            }
            streamed += detok.Flush();
            Assert.Equal(doc.RootElement.GetProperty(skip ? "skip" : "keep").GetString(), streamed);
        }
        Assert.Equal(1000, count);
    }

    [Fact]
    public void Push_CharacterSplitAcrossByteTokens_EmitsNothingUntilComplete()
    {
        var tokenizer = TestTokenizers.FromVocab;
        // A rare character whose 4 UTF-8 bytes are split over byte-level tokens.
        var character = new[] { "𝌆", "🫠", "𠀀", "𓀀" }.First(c => tokenizer.Encode(c).Length > 1);
        var ids = tokenizer.Encode(character);
        var detok = tokenizer.CreateDetokenizer();
        var outputs = ids.Select(detok.Push).ToList();
        Assert.All(outputs.Take(ids.Length - 1), o => Assert.Equal("", o));
        Assert.Equal(character, outputs[^1]);
    }

    [Fact]
    public void Push_ManyTokens_AllocatesOnlyTheReturnedStrings()
    {
        var tokenizer = TestTokenizers.FromVocab;
        var word = tokenizer.Encode(" hello");
        var special = tokenizer.GetTokenId("<|im_end|>")!.Value;
        Assert.Single(word);
        var detok = tokenizer.CreateDetokenizer(skipSpecialTokens: true);
        for (var i = 0; i < 100; i++)
        {
            detok.Push(word[0]); // warm up (JIT)
        }
        const int Pushes = 10_000;
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < Pushes; i++)
        {
            detok.Push(word[0]);
            detok.Push(special); // skipped: returns "" without allocating
        }
        var perToken = (GC.GetAllocatedBytesForCurrentThread() - before) / Pushes;
        // A 6-char string on 64-bit is 8 (header) + 8 (type) + 4 (length) + 2 * 7 (chars and terminator) = 34, rounded to 40 bytes.
        Assert.True(perToken <= 40, $"{perToken} bytes per token pair");
    }
}
