using System.Diagnostics;

namespace Qwen.Bench.Llama;

/// <summary>
/// Aggregate decode rate of n streams that decode together, the same on both sides (llama-bench.mjs does this in
/// JavaScript): the window opens when the last stream has its first token (every prompt evaluated) and closes when
/// each stream has <c>tokens</c> tokens inside it; the rate is the tokens inside the window over its length. Streams
/// that got their first token earlier keep decoding while the others prefill (the engine mixes prefill chunks and
/// decode rows), so their contexts are a little longer than the prompt when the window opens. Thread-safe.
/// </summary>
internal sealed class DecodeWindow(int streams, int tokens)
{
    private readonly List<long>[] _stamps = [.. Enumerable.Range(0, streams).Select(_ => new List<long>())];
    private long? _start;
    private long? _end;

    /// <summary>Records a token of <paramref name="stream"/>; returns true once the window has closed (the stream may stop).</summary>
    public bool Add(int stream)
    {
        var now = Stopwatch.GetTimestamp();
        lock (_stamps)
        {
            if (_end is not null)
            {
                return true;
            }
            _stamps[stream].Add(now);
            if (_start is null && _stamps.All(s => s.Count > 0))
            {
                _start = _stamps.Max(s => s[0]);
            }
            if (_start is { } start && _stamps.All(s => s.Count(t => t > start) >= tokens))
            {
                _end = now;
            }
            return _end is not null;
        }
    }

    /// <summary>Tokens per second inside the window (closed at the last token if it never closed).</summary>
    public double Rate()
    {
        lock (_stamps)
        {
            var start = _start ?? throw new InvalidOperationException("a stream produced no token");
            var end = _end ?? _stamps.Max(s => s[^1]);
            var counted = _stamps.Sum(s => s.Count(t => t > start && t <= end));
            return counted / Stopwatch.GetElapsedTime(start, end).TotalSeconds;
        }
    }
}
