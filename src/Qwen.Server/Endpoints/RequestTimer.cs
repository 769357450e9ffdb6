using System.Diagnostics;
using Qwen.Server.Observability;

namespace Qwen.Server.Endpoints;

/// <summary>Measures a request's time to first token, inter-token gaps and duration, and records them as metrics.</summary>
internal sealed class RequestTimer
{
    private readonly long _start = Stopwatch.GetTimestamp();
    private readonly Dictionary<int, (int Tokens, long At)> _last = [];

    public double? TimeToFirstTokenMs { get; private set; }

    /// <summary>Called with a choice's running token count on each of its events.</summary>
    public void Observe(int choice, int tokens)
    {
        var now = Stopwatch.GetTimestamp();
        if (_last.TryGetValue(choice, out var last) && tokens <= last.Tokens)
        {
            return;
        }
        if (TimeToFirstTokenMs is null && tokens > 0)
        {
            TimeToFirstTokenMs = Stopwatch.GetElapsedTime(_start, now).TotalMilliseconds;
            ServerMetrics.TimeToFirstToken.Observe(TimeToFirstTokenMs.Value / 1000);
        }
        else if (last.At != 0)
        {
            ServerMetrics.InterTokenLatency.Observe(Stopwatch.GetElapsedTime(last.At, now).TotalSeconds);
        }
        _last[choice] = (tokens, now);
    }

    public double Finish()
    {
        var elapsed = Stopwatch.GetElapsedTime(_start);
        ServerMetrics.RequestLatency.Observe(elapsed.TotalSeconds);
        return elapsed.TotalMilliseconds;
    }
}
