using System.Globalization;
using Prometheus;
using Qwen.Inference.Engine;
using Qwen.Server.Hosting;

namespace Qwen.Server.Observability;

/// <summary>The Prometheus metrics the server exports on /metrics (engine gauges are read at scrape time).</summary>
public static class ServerMetrics
{
    private static readonly double[] LatencyBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

    /// <summary>Seconds from request arrival to the first token.</summary>
    public static readonly Histogram TimeToFirstToken = Metrics.CreateHistogram("qwen_time_to_first_token_seconds", "Time to first token.", new HistogramConfiguration { Buckets = LatencyBuckets });

    /// <summary>Seconds between consecutive tokens of a sequence.</summary>
    public static readonly Histogram InterTokenLatency = Metrics.CreateHistogram("qwen_inter_token_latency_seconds", "Time between tokens of one sequence.", new HistogramConfiguration { Buckets = LatencyBuckets });

    /// <summary>Seconds from arrival to the last byte.</summary>
    public static readonly Histogram RequestLatency = Metrics.CreateHistogram("qwen_e2e_request_latency_seconds", "End-to-end request latency.", new HistogramConfiguration { Buckets = LatencyBuckets });

    /// <summary>Prompt tokens processed.</summary>
    public static readonly Counter PromptTokens = Metrics.CreateCounter("qwen_prompt_tokens_total", "Prompt tokens.");

    /// <summary>Tokens generated.</summary>
    public static readonly Counter GenerationTokens = Metrics.CreateCounter("qwen_generation_tokens_total", "Generated tokens.");

    /// <summary>Finished choices by finish reason.</summary>
    public static readonly Counter Finished = Metrics.CreateCounter("qwen_requests_finished_total", "Finished choices by reason.", "finish_reason");

    /// <summary>Error responses by status.</summary>
    public static readonly Counter Errors = Metrics.CreateCounter("qwen_request_errors_total", "Error responses by HTTP status.", "status");

    /// <summary>
    /// Generation requests from queueing their choices to their end (response written, failed or cut off): the engine
    /// may have finished their sequences while their output still waits on a slow client.
    /// </summary>
    public static readonly Gauge RequestsInGeneration = Metrics.CreateGauge("qwen_requests_in_generation", "Generation requests between queueing their choices and their end, whether their sequences still run in the engine or their output waits on the client.");

    /// <summary>Sequences (choices) held by those requests: waiting, running, or ended in the engine with output not yet delivered.</summary>
    public static readonly Gauge SequencesHeld = Metrics.CreateGauge("qwen_sequences_held", "Sequences held by requests in generation: waiting, running, or ended in the engine with output the client has not taken yet.");

    private static readonly Gauge Running = Metrics.CreateGauge("qwen_requests_running", "Sequences holding a KV slot.");
    private static readonly Gauge Waiting = Metrics.CreateGauge("qwen_requests_waiting", "Sequences waiting for a slot.");
    private static readonly Gauge KvUsage = Metrics.CreateGauge("qwen_kv_cache_usage_ratio", "Share of KV cache slots in use.");
    private static readonly Gauge KvTokens = Metrics.CreateGauge("qwen_kv_cache_tokens_used", "Tokens held in the KV cache.");

    // An info gauge (value 1, the facts in its labels) as vLLM's vllm:cache_config_info, with the label names the Gateway API
    // Inference Extension's endpoint picker reads to size its prefix-cache scorer: tokens per block and blocks in the cache.
    private static readonly Gauge CacheConfig = Metrics.CreateGauge("qwen_cache_config_info", "KV cache layout (value 1): block_size is the prefix cache's block in tokens, num_gpu_blocks the blocks the whole KV cache holds (on the CPU too; the name is the one endpoint pickers read).", "block_size", "num_gpu_blocks");

    // Counters of the engine's since its start (as vLLM's prefix_cache_queries and prefix_cache_hits, in tokens), read at scrape time.
    private static readonly Counter PrefixCacheQueries = Metrics.CreateCounter("qwen_prefix_cache_queries_total", "Prompt tokens looked up in the prefix cache.");
    private static readonly Counter PrefixCacheHits = Metrics.CreateCounter("qwen_prefix_cache_hits_total", "Prompt tokens taken from the prefix cache instead of being prefilled.");
    private static readonly Counter PrefixCacheLookups = Metrics.CreateCounter("qwen_prefix_cache_lookups_total", "Sequences whose prompt was looked up in the prefix cache: hit (at least one token reused) or miss.", "result");

    private static readonly List<ModelHost> Hosts = [];
    private static readonly Dictionary<ModelHost, PrefixCacheStats> PrefixCacheSeen = []; // each host's counts at the last scrape

    static ServerMetrics() => Metrics.DefaultRegistry.AddBeforeCollectCallback(Collect);

    /// <summary>
    /// Reads the engine's gauges before every scrape until the returned handle is disposed. prometheus-net's registry is
    /// process-wide, so with several hosts in one process (tests) the gauges are their sum, never the last one's alone.
    /// </summary>
    public static IDisposable Track(ModelHost model)
    {
        ArgumentNullException.ThrowIfNull(model);
        lock (Hosts)
        {
            Hosts.Add(model);
        }
        return new Untrack(model);
    }

    private static void Collect()
    {
        int waiting = 0, used = 0, total = 0;
        long tokens = 0, capacity = 0;
        lock (Hosts)
        {
            foreach (var host in Hosts)
            {
                var s = host.Engine.GetStats();
                (waiting, used, total, tokens, capacity) = (waiting + s.Waiting, used + s.SlotsUsed, total + s.SlotsTotal, tokens + s.KvTokensUsed, capacity + s.KvTokensTotal);
                // Counters grow by what each engine counted since the last scrape, so hosts coming and going never lower them.
                var (now, seen) = (s.PrefixCache, PrefixCacheSeen.GetValueOrDefault(host, PrefixCacheStats.None));
                PrefixCacheQueries.Inc(now.QueriedTokens - seen.QueriedTokens);
                PrefixCacheHits.Inc(now.HitTokens - seen.HitTokens);
                PrefixCacheLookups.WithLabels("hit").Inc(now.Hits - seen.Hits);
                PrefixCacheLookups.WithLabels("miss").Inc(now.Lookups - now.Hits - (seen.Lookups - seen.Hits));
                PrefixCacheSeen[host] = now;
            }
        }
        Running.Set(used); // requests running = slots held (decoding or prefilling)
        Waiting.Set(waiting);
        KvUsage.Set(total == 0 ? 0 : (double)used / total);
        KvTokens.Set(tokens);
        SetCacheConfig(capacity);
    }

    /// <summary>One series with the current layout's labels; a layout that changed (hosts coming and going in tests) is unpublished.</summary>
    private static void SetCacheConfig(long capacityTokens)
    {
        string[] labels = [InferenceEngine.PrefixBlockSize.ToString(CultureInfo.InvariantCulture), (capacityTokens / InferenceEngine.PrefixBlockSize).ToString(CultureInfo.InvariantCulture)];
        foreach (var old in CacheConfig.GetAllLabelValues().ToList())
        {
            if (capacityTokens == 0 || !old.SequenceEqual(labels))
            {
                CacheConfig.RemoveLabelled(old);
            }
        }
        if (capacityTokens > 0)
        {
            CacheConfig.WithLabels(labels).Set(1);
        }
    }

    private sealed class Untrack(ModelHost model) : IDisposable
    {
        public void Dispose()
        {
            lock (Hosts)
            {
                Hosts.Remove(model);
                PrefixCacheSeen.Remove(model);
            }
        }
    }
}
