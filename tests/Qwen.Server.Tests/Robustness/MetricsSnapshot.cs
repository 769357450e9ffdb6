using System.Globalization;
using Qwen.Inference.Engine;

namespace Qwen.Server.Tests.Robustness;

/// <summary>The server's gauges as /metrics (Prometheus text) reports them: what runs, waits and holds the KV cache.</summary>
internal sealed record MetricsSnapshot(double Running, double Waiting, double KvTokensUsed)
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
        return new MetricsSnapshot(Value("qwen_requests_running"), Value("qwen_requests_waiting"), Value("qwen_kv_cache_tokens_used"));
    }

    public bool Idle => Running == 0 && Waiting == 0 && KvTokensUsed == 0;

    /// <summary>
    /// Polls /metrics and <paramref name="engine"/> until neither shows anything running, waiting or holding KV cache
    /// tokens, or <paramref name="limit"/> passes; returns the last /metrics snapshot. Both, because /metrics is
    /// process-wide: prometheus-net's default registry is static, so in a test process that has hosted several servers
    /// the gauges may come from another (disposed, idle) host's callback; the engine's own counts are this server's.
    /// </summary>
    public static async Task<MetricsSnapshot> WaitIdleAsync(HttpClient http, InferenceEngine engine, TimeSpan limit)
    {
        ArgumentNullException.ThrowIfNull(engine);
        using var timeout = new CancellationTokenSource(limit);
        var last = await ReadAsync(http);
        while (!(last.Idle && EngineIdle(engine.GetStats())) && !timeout.IsCancellationRequested)
        {
            await Task.Delay(50, CancellationToken.None);
            last = await ReadAsync(http);
        }
        return last;
    }

    public static bool EngineIdle(EngineStats s) => s.Running == 0 && s.Waiting == 0 && s.SlotsUsed == 0 && s.KvTokensUsed == 0;

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"running {Running}, waiting {Waiting}, kv tokens {KvTokensUsed}");
}
