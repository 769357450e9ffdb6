using System.Text;
using System.Text.Json;
using Qwen.Tokenization.Tokenizer;

namespace Qwen.Tokenization.Tests.Tokenizer;

/// <summary>
/// The early length check's bound (a token stands for at most MaxTokenBytes bytes, so a text needs at least
/// ceil(bytes / that) tokens) and the cancellation of a long encode.
/// </summary>
public sealed class QwenTokenizerBoundTests
{
    [Theory]
    [InlineData("vocab")]
    [InlineData("json")]
    public void MaxTokenBytes_LongestTokenOfVocabAndAddedTokens(string source)
    {
        // Oracle: vocab.json's tokens decoded through GPT-2's byte alphabet, and the added tokens' UTF-8.
        var byteOf = Enumerable.Range(0, 256).ToDictionary(b => NaiveBpe.ByteChars[b][0], b => b);
        var longestVocab = NaiveBpe.Instance.Vocab.Keys.Max(t => t.Count(byteOf.ContainsKey));
        using var config = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(RepoPaths.QwenAssets, "tokenizer_config.json")));
        var longestAdded = config.RootElement.GetProperty("added_tokens_decoder").EnumerateObject().Max(p => Encoding.UTF8.GetByteCount(p.Value.GetProperty("content").GetString()!));
        Assert.Equal(Math.Max(longestVocab, longestAdded), TestTokenizers.Get(source).MaxTokenBytes);
        Assert.Equal(128, longestVocab); // 128 spaces: the bound is weak for whitespace, and still 4 MB of text is over 32k tokens
    }

    [Fact]
    public void MinimumTokenCount_RandomTexts_NeverAboveTheActualCount()
    {
        var tokenizer = TestTokenizers.FromVocab;
        var random = new Random(77);
        string[] parts = ["hello", " world", "\n\n", "<|im_start|>", "<tool_call>", "é", "e\u0301", "\u1100\u1161\u11A8", "\u212A", "東京", "😀", "123", "ſ"];
        for (var i = 0; i < 300; i++)
        {
            var sb = new StringBuilder();
            for (var n = random.Next(1, 30); n > 0; n--)
            {
                _ = random.Next(4) switch
                {
                    0 => sb.Append(' ', random.Next(1, 400)), // runs longer than the 128-space token
                    1 => sb.Append(random.Next(2) == 0 ? '-' : '=', random.Next(1, 300)),
                    _ => sb.Append(parts[random.Next(parts.Length)]),
                };
            }
            var text = sb.ToString();
            var bound = tokenizer.MinimumTokenCount(text);
            var actual = tokenizer.Encode(text).Length;
            Assert.True(bound <= actual, $"bound {bound} > {actual} tokens for {JsonSerializer.Serialize(text)}");
            Assert.True(bound <= tokenizer.Encode(text, [Range.All], CancellationToken.None).Length, "the bound must hold with the whole text plain too");
            if (text.IsNormalized(NormalizationForm.FormC))
            {
                Assert.Equal((Encoding.UTF8.GetByteCount(text) + 127) / 128, bound);
            }
        }
        Assert.Equal(1, tokenizer.MinimumTokenCount(new string(' ', 128)));
        Assert.Single(tokenizer.Encode(new string(' ', 128))); // the bound is reached: it cannot be raised
    }

    [Fact]
    public void Encode_CancelledToken_ThrowsBeforeAnyWork()
    {
        var tokenizer = QwenTokenizer.FromDirectory(RepoPaths.QwenAssets); // its own instance: other tests' encodes do not count here
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        Assert.Throws<OperationCanceledException>(() => tokenizer.Encode("hello", cts.Token));
        Assert.Throws<OperationCanceledException>(() => tokenizer.Encode("hello", [0..2], cts.Token));
        Assert.Equal(0, tokenizer.EncodeCount);
    }

    [Fact]
    public async Task Encode_TokenCancelledWhileEncodingALongText_StopsWithOperationCanceled()
    {
        var tokenizer = QwenTokenizer.FromDirectory(RepoPaths.QwenAssets);
        var random = new Random(3);
        // Random words: three repeated ones hit the tokenizer's word cache and sometimes finished before the cancel landed.
        var text = string.Concat(Enumerable.Range(0, 800_000).Select(_ => " " + new string(Enumerable.Range(0, random.Next(3, 9)).Select(_ => (char)('a' + random.Next(26))).ToArray())));
        using var cts = new CancellationTokenSource();
        // The cancel comes from a thread of its own, once the encode has started (passed its first check): a continuation
        // awaited on the test's context can wait behind the other tests' work for longer than the encode takes (failed once in CI).
        var canceller = new Thread(() =>
        {
            while (tokenizer.EncodeCount == 0)
            {
                Thread.Yield();
            }
            cts.Cancel();
        })
        { IsBackground = true };
        canceller.Start();
        var encode = Task.Run(() => tokenizer.Encode(text, cts.Token));
        await Assert.ThrowsAsync<OperationCanceledException>(() => encode);
        canceller.Join();
        Assert.Equal(1, tokenizer.CancelledEncodeCount); // stopped between pieces, not at the entry check
    }
}
