using System.Text;

namespace Qwen.Tokenization.Tokenizer;

/// <summary>
/// Turns a stream of token ids into text deltas without ever emitting a broken UTF-8 character: bytes of a character
/// split across tokens wait inside a UTF-8 <see cref="Decoder"/> until it is complete; truly invalid bytes come out as
/// U+FFFD exactly as a whole decode would. O(1) per token, allocating only the returned string. One per sequence; not thread-safe.
/// </summary>
public sealed class IncrementalDetokenizer
{
    private readonly QwenTokenizer _tokenizer;
    private readonly bool _skipSpecial;
    private readonly Decoder _utf8 = Encoding.UTF8.GetDecoder();
    private char[] _chars = new char[256]; // grown (rarely) to fit the longest token

    internal IncrementalDetokenizer(QwenTokenizer tokenizer, bool skipSpecialTokens)
    {
        _tokenizer = tokenizer;
        _skipSpecial = skipSpecialTokens;
    }

    /// <summary>Adds one token and returns the text that is now complete (possibly empty).</summary>
    public string Push(int tokenId)
        => _skipSpecial && _tokenizer.IsSpecial(tokenId) ? string.Empty : Convert(_tokenizer.TokenBytes(tokenId), flush: false);

    /// <summary>Returns whatever is still held back at the end of generation (incomplete bytes as U+FFFD).</summary>
    public string Flush() => Convert([], flush: true);

    private string Convert(ReadOnlySpan<byte> bytes, bool flush)
    {
        // Sized so one call always completes (the count allows for bytes left in the decoder): no per-token builder.
        var max = Encoding.UTF8.GetMaxCharCount(bytes.Length);
        if (_chars.Length < max)
        {
            _chars = new char[max];
        }
        var written = _utf8.GetChars(bytes, _chars, flush);
        return written == 0 ? string.Empty : new string(_chars, 0, written);
    }
}
