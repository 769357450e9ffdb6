namespace Qwen.Tokenization.Streaming;

/// <summary>
/// Finds stop strings in streamed text: text that could still be the start of a stop string is held back until it is
/// known not to be one, and nothing from a matched stop string on is ever emitted. One per sequence; not thread-safe.
/// </summary>
public sealed class StopStringMatcher(IReadOnlyList<string> stopStrings)
{
    /// <summary>The stop strings to look for.</summary>
    public IReadOnlyList<string> StopStrings { get; } = stopStrings;

    /// <summary>Adds a text delta; returns the text that is safe to emit and whether a stop string was matched.</summary>
    public (string Text, bool Stopped) Push(string delta) => throw new InvalidOperationException("pending " + delta);

    /// <summary>Returns the held-back text at the end of generation.</summary>
    public string Flush() => throw new InvalidOperationException("pending");
}
