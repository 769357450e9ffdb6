using System.Diagnostics;
using Qwen.Inference.Engine;

namespace Qwen.Bench;

/// <summary>
/// Decode tokens/s with long contexts (`engine --contexts 2048,8192`): 1 and 8 streams whose prompts hold C tokens when
/// the timed decode starts, so each step reads C x rows of KV cache besides the weights (at 2,048 x 8 rows the KV reads
/// exceed the 0.5B weights). The streams' prompts share all but their last <see cref="Tail"/> tokens: with prefix caching
/// a primer request prefills the shared part once and the streams prefill only their tails; without it every stream
/// prefills its whole prompt (minutes at 8,192 tokens). Prefill is outside the timing and its wall time is printed.
/// </summary>
internal static class LongContextBench
{
    /// <summary>Tokens of each stream's own after the shared prefix, so that no two prompts are equal.</summary>
    private const int Tail = 4;

    private static readonly int[] StreamCounts = [1, 8];

    /// <summary>
    /// The engine's MaxModelLen for <paramref name="longest"/>: without prefix caching the first stream decodes while the
    /// others prefill (one step per chunk, at most 7 x C / chunk tokens), then the timed window; both must fit.
    /// </summary>
    public static int MaxModelLen(int longest, int chunk, int decodeTokens) => longest + (StreamCounts.Max() * longest / chunk) + (2 * decodeTokens) + 64;

    public static async Task Run(string dir, EngineOptions options, IReadOnlyList<int> contexts, int decodeTokens)
    {
        var o = options with
        {
            MaxNumSeqs = Math.Max(options.MaxNumSeqs, StreamCounts.Max()),
            MaxModelLen = MaxModelLen(contexts.Max(), options.PrefillChunkSize, decodeTokens),
        };
        await using var engine = InferenceEngine.Load(dir, o);
        await EngineBench.Generate(engine, EngineBench.Prompt(1, 16), 4); // warm-up
        Console.WriteLine($"long contexts: prefix caching {(o.PrefixCaching ? "on" : "off")}, MaxModelLen {o.MaxModelLen}, {decodeTokens} decode tokens per stream timed after every stream's first token");
        foreach (var c in contexts)
        {
            var shared = EngineBench.Prompt(1000 + c, c - Tail);
            var primerMs = 0.0;
            if (o.PrefixCaching)
            {
                // Prefill the shared part once; its slot keeps it, and the streams that follow find it in the cache.
                var sw = Stopwatch.StartNew();
                await EngineBench.Generate(engine, WithTail(shared, 99), 1);
                primerMs = sw.Elapsed.TotalMilliseconds;
            }
            foreach (var n in StreamCounts)
            {
                var (rate, setupMs, cached) = await Decode(engine, Enumerable.Range(0, n).Select(i => WithTail(shared, i)).ToArray(), decodeTokens);
                var primer = o.PrefixCaching ? $" after a {primerMs / 1000:F1} s primer" : "";
                Console.WriteLine($"context {c}, {n} seq: decode {rate:F1} tok/s ({rate / n:F1} per stream); setup {setupMs / 1000:F1} s{primer} ({cached} of {n * c} prompt tokens from the prefix cache)");
            }
        }
    }

    private static int[] WithTail(int[] shared, int stream) => [.. shared, .. EngineBench.Prompt(5000 + stream, Tail)];

    /// <summary>
    /// Aggregate tokens/s of the streams between the moment all have their first token (every prompt is in the cache) and
    /// the moment one has made <paramref name="decodeTokens"/> more; the setup time from submission to that start;
    /// and the prompt tokens the engine reported as taken from its prefix cache.
    /// </summary>
    private static async Task<(double Rate, double SetupMs, int Cached)> Decode(InferenceEngine engine, int[][] prompts, int decodeTokens)
    {
        using var cts = new CancellationTokenSource();
        var stamps = prompts.Select(_ => new List<long>()).ToArray();
        var submitted = Stopwatch.GetTimestamp();
        var runs = prompts.Select((p, i) => EngineBench.Stamped(engine, EngineBench.Greedy(p, 100_000), stamps[i], cts.Token)).ToArray();
        await EngineBench.WaitUntil(() => stamps.All(s => EngineBench.CountAfter(s, 0) > 0) || runs.Any(r => r.IsCompleted));
        var start = stamps.Max(First);
        await EngineBench.WaitUntil(() => stamps.All(s => EngineBench.CountAfter(s, start) >= decodeTokens) || runs.Any(r => r.IsCompleted));
        if (runs.FirstOrDefault(r => r.IsCompleted) is { } ended)
        {
            await ended; // its exception, if it failed
            throw new InvalidOperationException("a stream ended before the timed window did (context full?)");
        }
        await cts.CancelAsync();
        var cached = (await Task.WhenAll(runs)).Sum();
        // The window ends at the first stream's decodeTokens-th token after start (all share each step): every stream decodes throughout.
        var end = stamps.Min(s => s.Where(t => t > start).Order().ElementAt(decodeTokens - 1));
        var counted = stamps.Sum(s => s.Count(t => t > start && t <= end));
        return (counted / Stopwatch.GetElapsedTime(start, end).TotalSeconds, Stopwatch.GetElapsedTime(submitted, start).TotalMilliseconds, cached);
    }

    private static long First(List<long> stamps)
    {
        lock (stamps)
        {
            return stamps.Count > 0 ? stamps[0] : long.MaxValue;
        }
    }
}
