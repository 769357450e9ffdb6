using System.Text;
using System.Text.Json;
using Qwen.Tokenization.Constraints;

namespace Qwen.Tokenization.Tests.Constraints;

/// <summary>The per-token byte table against the Hugging Face Rust tokenizer's golden decodes.</summary>
public sealed class TokenBytesTests
{
    [Theory]
    [InlineData("vocab")]
    [InlineData("json")]
    public void FromTokenizer_GoldenDecodeIds_BytesConcatenateToTheGoldenText(string source)
    {
        var tokens = TokenBytes.FromTokenizer(TestTokenizers.Get(source));
        var failures = new List<string>();
        var count = 0;
        foreach (var line in File.ReadLines(GoldenFiles.Path("decode-rust.jsonl")))
        {
            using var doc = JsonDocument.Parse(line);
            var ids = doc.RootElement.GetProperty("ids").EnumerateArray().Select(e => e.GetInt32()).ToArray();
            var bytes = ids.SelectMany(id => tokens[id].ToArray()).ToArray();
            var decoded = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: false).GetString(bytes);
            if (decoded != doc.RootElement.GetProperty("keep").GetString())
            {
                failures.Add($"[{string.Join(",", ids)}]");
            }
            count++;
        }
        Assert.Equal(1000, count);
        Assert.True(failures.Count == 0, $"{failures.Count} differ: {string.Join(" ", failures.Take(10))}");
    }

    [Fact]
    public void FromTokenizer_AddedAndByteTokens_HoldTheirBytesAndSpecialFlag()
    {
        var tokens = GrammarDriver.Tokens;
        Assert.Equal(151_665, tokens.Count); // Qwen2.5: 151,643 BPE tokens and 22 added ones; the model pads to 151,936
        Assert.Equal("<tool_call>"u8.ToArray(), tokens[151_657].ToArray());
        Assert.Equal("</tool_call>"u8.ToArray(), tokens[151_658].ToArray());
        Assert.False(tokens.IsSpecial(151_657) || tokens.IsSpecial(151_658));
        Assert.Equal("<|im_end|>"u8.ToArray(), tokens[151_645].ToArray());
        Assert.True(tokens.IsSpecial(151_645) && tokens.IsSpecial(151_643) && tokens.IsSpecial(151_644));
        Assert.Equal(" "u8.ToArray(), tokens[220].ToArray()); // GPT-2 byte alphabet: U+0120 'Ġ' stands for the space
        Assert.Equal("\n"u8.ToArray(), tokens[198].ToArray());
        Assert.Equal([(byte)'!'], tokens[0].ToArray());
        Assert.Equal(0, tokens[151_665].Length);
        Assert.Equal(0, tokens[-1].Length);
    }

    [Fact]
    public void FromTokenizer_EveryByte_HasASingleByteToken()
    {
        // Byte-level BPE can spell any text, which is what lets the grammar never reach a dead end.
        var tokens = GrammarDriver.Tokens;
        var seen = new bool[256];
        for (var id = 0; id < tokens.Count; id++)
        {
            if (tokens[id].Length == 1 && !tokens.IsSpecial(id))
            {
                seen[tokens[id][0]] = true;
            }
        }
        Assert.All(seen, Assert.True);
    }
}
