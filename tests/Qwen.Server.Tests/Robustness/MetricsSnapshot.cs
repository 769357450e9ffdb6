using System.Globalization;

namespace Qwen.Server.Tests.Robustness;

/// <summary>The server's gauges as /metrics (Prometheus text) reports them: what runs, waits and holds the KV cache.</summary>
internal sealed record MetricsSnapshot(double Running, double Waiting, double KvTokensUsed, double TimeToFirstTokenCount)
{
    public static async Task<MetricsSnapshot> ReadAsync(HttpClient http)
    {
        var text = await http.GetStringAsync("/metrics");
        double Value(string name)
        {
            foreach (var line in text.Split('\n'))
            {
                // Unlabelled series only: "name value".
                if (line.StartsWith(name + " ", StringComparison.Ordinal))
                {
                    return double.Parse(line[(name.Length + 1)..].Trim(), CultureInfo.InvariantCulture);
                }
            }
            throw new InvalidOperationException($"/metrics has no series '{name}'");
        }
        return new MetricsSnapshot(Value("qwen_requests_running"), Value("qwen_requests_waiting"), Value("qwen_kv_cache_tokens_used"), Value("qwen_time_to_first_token_seconds_count"));
    }

    public bool Idle => Running == 0 && Waiting == 0 && KvTokensUsed == 0;

    /// <summary>Polls /metrics until nothing runs, waits or holds KV cache tokens, or <paramref name="limit"/> passes; returns the last snapshot.</summary>
    public static async Task<MetricsSnapshot> WaitIdleAsync(HttpClient http, TimeSpan limit)
    {
        using var timeout = new CancellationTokenSource(limit);
        var last = await ReadAsync(http);
        while (!last.Idle && !timeout.IsCancellationRequested)
        {
            await Task.Delay(50, CancellationToken.None);
            last = await ReadAsync(http);
        }
        return last;
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"running {Running}, waiting {Waiting}, kv tokens {KvTokensUsed}");
}
