namespace Qwen.Bench.Pool;

/// <summary>
/// What one scrape of a replica's /metrics said, as the EPP keeps it per pod: requests waiting for a KV slot
/// (<c>qwen_requests_waiting</c>), requests holding one (<c>qwen_requests_running</c>) and the share of KV slots in use,
/// 0..1 (<c>qwen_kv_cache_usage_ratio</c>); <paramref name="ScrapedAt"/> is the <see cref="System.Diagnostics.Stopwatch"/>
/// timestamp of the scrape, so a pick can say how old its figures were.
/// </summary>
internal sealed record ReplicaMetrics(int Waiting, int Running, double KvUsage, long ScrapedAt)
{
    /// <summary>The series names our server exports (src/Qwen.Server/Observability/ServerMetrics.cs).</summary>
    public const string WaitingSeries = "qwen_requests_waiting", RunningSeries = "qwen_requests_running", KvUsageSeries = "qwen_kv_cache_usage_ratio";

    /// <summary>The three gauges from a scrape's <paramref name="text"/>; a missing or non-finite gauge is a <see cref="FormatException"/>.</summary>
    public static ReplicaMetrics FromScrape(string text, long scrapedAt)
    {
        var samples = PrometheusText.Parse(text);
        // A NaN or infinite gauge would make every score comparison false: such a scrape is refused like a missing one.
        double Gauge(string name) => PrometheusText.Value(samples, name) is { } v && double.IsFinite(v) ? v : throw new FormatException($"the scrape has no finite {name}");
        return new ReplicaMetrics((int)Gauge(WaitingSeries), (int)Gauge(RunningSeries), Gauge(KvUsageSeries), scrapedAt);
    }
}
