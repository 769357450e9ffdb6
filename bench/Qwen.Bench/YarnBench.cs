using System.Diagnostics;
using Qwen.Inference.Engine;
using Qwen.OnnxExport;

namespace Qwen.Bench;

/// <summary>
/// Long prompts on a YaRN export (`yarn`): the 0.5B preset with Qwen2.5's model-card rope_scaling (factor 4, so 131,072
/// positions), one engine sized for the longest prompt plus <c>--streams</c> short ones, prefix caching off so that every
/// prompt is prefilled. For each context but the last, one prompt alone: prefill tokens/s (prompt tokens / time to first
/// token) and decode tokens/s of its next <c>--tokens</c>. For the last, <c>--streams</c> short streams decode first, then
/// the long prompt arrives: the longest and median gap between the streams' tokens while it is prefilled (chunked
/// prefill takes turns with their decode steps), its prefill tokens/s alongside them, and, once they are cancelled, its
/// decode tokens/s alone. Peak RSS last.
/// </summary>
internal static class YarnBench
{
    public static async Task<int> RunAsync(string[] args)
    {
        var a = new BenchArgs(args);
        var precision = a.Get("precision", "int4");
        var factor = a.Double("yarn") ?? 4;
        var contexts = a.Doubles("contexts", "8192,32768,100000").Select(c => (int)c).ToArray();
        var streams = a.Int("streams", 4);
        var tokens = a.Int("tokens", 16);
        var chunk = a.Int("prefill-chunk-size", 256);
        var dir = a.Get("model-dir", "") is { Length: > 0 } given ? given : RandomModelCache.GetOrCreate("qwen2.5-0.5b", precision, 1234, yarn: factor);
        var options = new EngineOptions
        {
            MaxNumSeqs = streams + 1,
            MaxModelLen = a.Int("max-model-len", contexts.Max() + tokens + 64),
            PrefillChunkSize = chunk,
            PrefixCaching = false,
            ScalePrefillChunks = a.Get("scale-prefill-chunks", "on") switch { "on" => true, "off" => false, var other => throw new ArgumentException($"--scale-prefill-chunks must be on or off (given '{other}')") },
            IntraOpThreads = a.Int("threads", 0),
        };
        Console.WriteLine($"model {dir}, {Environment.ProcessorCount} cores; {options.MaxNumSeqs} slots of {options.MaxModelLen} tokens, prefill chunks of {chunk}{(options.ScalePrefillChunks ? ", scaled at long contexts while others decode" : " at every length")}, prefix caching off");
        var load = Stopwatch.StartNew();
        await using var engine = InferenceEngine.Load(dir, options);
        Console.WriteLine($"engine loaded in {load.Elapsed.TotalSeconds:F1} s; KV cache {engine.Info.Slots} slots x {engine.Info.MaxModelLen} tokens, {engine.Info.KvCacheBytes / 1048576.0:F0} MiB");
        await EngineBench.Generate(engine, EngineBench.Prompt(1, 16), 4); // warm-up

        foreach (var c in contexts[..^1])
        {
            var submitted = Stopwatch.GetTimestamp();
            var stamps = await EngineBench.Generate(engine, EngineBench.Prompt(2000 + c, c), tokens + 1);
            Console.WriteLine($"context {c}: prefill {c / Seconds(submitted, stamps[0]):F1} tok/s ({Seconds(submitted, stamps[0]):F1} s), then decode {tokens / Seconds(stamps[0], stamps[^1]):F2} tok/s");
        }

        var longest = contexts[^1];
        var gaps = Enumerable.Range(0, streams).Select(_ => new List<long>()).ToArray();
        using var cancel = new CancellationTokenSource();
        var running = gaps.Select((s, i) => EngineBench.Stamped(engine, EngineBench.Greedy(EngineBench.Prompt(300 + i, 64), options.MaxModelLen - 64), s, cancel.Token)).ToArray();
        await EngineBench.WaitUntil(() => gaps.All(s => EngineBench.CountAfter(s, 0) >= 4));
        var start = Stopwatch.GetTimestamp();
        var longStamps = new List<long>();
        var longRun = EngineBench.Stamped(engine, EngineBench.Greedy(EngineBench.Prompt(2000 + longest, longest), tokens + 1), longStamps, CancellationToken.None);
        // A 100K prompt takes the better part of an hour here: a line a minute, so an interrupted run still tells.
        var report = Stopwatch.GetTimestamp();
        await EngineBench.WaitUntil(() =>
        {
            if (Seconds(report, Stopwatch.GetTimestamp()) >= 60)
            {
                report = Stopwatch.GetTimestamp();
                var sofar = Gaps(gaps, start, report);
                Console.WriteLine($"  {Seconds(start, report):F0} s into the prefill: the streams' longest gap so far {sofar.DefaultIfEmpty().Max():F2} s, {sofar.Count} tokens");
            }
            return EngineBench.CountAfter(longStamps, 0) > 0;
        });
        long first;
        lock (longStamps)
        {
            first = longStamps[0];
        }
        await cancel.CancelAsync();
        await Task.WhenAll(running);
        await longRun;
        // Gaps between consecutive tokens of each stream that end while the long prompt was being prefilled.
        var during = Gaps(gaps, start, first);
        Console.WriteLine($"context {longest} alongside {streams} decoding streams: prefill {longest / Seconds(start, first):F1} tok/s ({Seconds(start, first):F1} s); the streams' gaps meanwhile: longest {during.Max():F2} s, median {Statistics.Median(during) * 1000:F0} ms over {during.Count} tokens; then decode alone {tokens / Seconds(longStamps[0], longStamps[^1]):F2} tok/s");
        Console.WriteLine($"peak RSS {BenchArgs.PeakRssBytes() / 1048576.0:F0} MiB");
        return 0;
    }

    /// <summary>Gaps between consecutive tokens of each stream that end after <paramref name="from"/> and begin before <paramref name="to"/>.</summary>
    private static List<double> Gaps(List<long>[] streams, long from, long to)
        => streams.SelectMany(s =>
        {
            lock (s)
            {
                return s.Zip(s.Skip(1)).Where(p => p.Second > from && p.First < to).Select(p => Seconds(p.First, p.Second)).ToList();
            }
        }).ToList();

    private static double Seconds(long from, long to) => Stopwatch.GetElapsedTime(from, to).TotalSeconds;
}
