namespace Qwen.Tokenization.Streaming;

/// <summary>
/// Finds stop strings in streamed text: text that could still be the start of a stop string is held back until it is
/// known not to be one, and nothing from a matched stop string on is ever emitted. One per sequence; not thread-safe.
/// </summary>
public sealed class StopStringMatcher(IReadOnlyList<string> stopStrings)
{
    private readonly string[] _stops = [.. stopStrings.Where(s => s.Length > 0)];
    private string _held = string.Empty;

    /// <summary>The stop strings to look for.</summary>
    public IReadOnlyList<string> StopStrings { get; } = stopStrings;

    /// <summary>Adds a text delta; returns the text that is safe to emit and whether a stop string was matched.</summary>
    public (string Text, bool Stopped) Push(string delta)
    {
        ArgumentNullException.ThrowIfNull(delta);
        if (_stops.Length == 0)
        {
            return (delta, false);
        }
        var text = _held + delta;
        var first = -1;
        foreach (var stop in _stops)
        {
            var at = text.IndexOf(stop, StringComparison.Ordinal);
            if (at >= 0 && (first < 0 || at < first))
            {
                first = at;
            }
        }
        if (first >= 0)
        {
            _held = string.Empty;
            return (text[..first], true);
        }
        // Hold back the longest suffix that is a proper prefix of some stop string.
        var keep = 0;
        foreach (var stop in _stops)
        {
            for (var n = Math.Min(stop.Length - 1, text.Length); n > keep; n--)
            {
                if (text.AsSpan(text.Length - n).SequenceEqual(stop.AsSpan(0, n)))
                {
                    keep = n;
                    break;
                }
            }
        }
        _held = text[^keep..];
        return (text[..^keep], false);
    }

    /// <summary>Returns the held-back text at the end of generation.</summary>
    public string Flush()
    {
        var held = _held;
        _held = string.Empty;
        return held;
    }
}
