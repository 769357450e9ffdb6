namespace Qwen.Tokenization.Tokenizer;

/// <summary>Turns a stream of token ids into text deltas without ever emitting a broken UTF-8 character. One per sequence; not thread-safe.</summary>
public sealed class IncrementalDetokenizer
{
    /// <summary>Adds one token and returns the text that is now complete (possibly empty).</summary>
    public string Push(int tokenId) => throw new InvalidOperationException("pending " + tokenId);

    /// <summary>Returns whatever is still held back at the end of generation (incomplete bytes as U+FFFD).</summary>
    public string Flush() => throw new InvalidOperationException("pending");
}
