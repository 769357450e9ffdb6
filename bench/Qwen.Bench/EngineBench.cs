using System.Diagnostics;
using Qwen.Inference.Engine;
using Qwen.Inference.Sampling;
using Qwen.OnnxExport;

namespace Qwen.Bench;

/// <summary>
/// Engine throughput on a random preset: `engine --preset qwen2.5-0.5b --precision int4|fp32`. Prints prefill tokens/s
/// (512-token prompt), decode tokens/s at 1, 4 and 8 sequences, the stall of 8 running streams while a 2,000-token
/// prompt is admitted (two chunk sizes), peak memory and the share of step time spent outside ONNX Runtime's Run.
/// </summary>
internal static class EngineBench
{
    private const int StallStreams = 8;

    public static async Task<int> RunAsync(string[] args)
    {
        var a = new BenchArgs(args);
        var preset = a.Get("preset", "qwen2.5-0.5b");
        var precision = a.Get("precision", "int4");
        var decodeTokens = a.Int("tokens", 48);
        var dir = a.Get("model-dir", "") is { Length: > 0 } given ? given : RandomModelCache.GetOrCreate(preset, precision, 1234);
        Console.WriteLine($"model {preset} {precision} ({dir}), {Environment.ProcessorCount} cores");
        var options = new EngineOptions { MaxNumSeqs = 8, MaxModelLen = 2560, MaxWaiting = 64, PrefillChunkSize = 256, IntraOpThreads = a.Int("threads", 0) };

        await using (var engine = InferenceEngine.CreateFromModelDirectory(dir, options))
        {
            await Generate(engine, Prompt(1, 16), 4); // warm-up
            var sw = Stopwatch.StartNew();
            await Generate(engine, Prompt(2, 512), 1);
            Console.WriteLine($"prefill 512 tokens: {512 / sw.Elapsed.TotalSeconds:F0} tok/s ({sw.Elapsed.TotalMilliseconds:F0} ms, chunks of {options.PrefillChunkSize})");

            var single = await Decode(engine, 1, decodeTokens);
            var four = await Decode(engine, 4, decodeTokens);
            var eight = await Decode(engine, 8, decodeTokens);
            Console.WriteLine($"decode: 1 seq {single:F1} tok/s; 4 seqs {four:F1} tok/s ({four / single:F2}x); 8 seqs {eight:F1} tok/s ({eight / single:F2}x)");
            Console.WriteLine($"share of step time outside Run (sampling, bookkeeping): {engine.OutsideRunShare * 100:F2}%");
        }

        foreach (var chunk in a.Get("quick", "no") == "yes" ? [] : new[] { 256, 2048 })
        {
            // 9 slots: the 8 streams keep theirs while the long prompt takes the ninth.
            await using var engine = InferenceEngine.CreateFromModelDirectory(dir, options with { MaxNumSeqs = StallStreams + 1, PrefillChunkSize = chunk });
            var (stall, prefillMs) = await Stall(engine);
            Console.WriteLine($"chunk {chunk}: 8 running streams' longest gap while a 2,000-token prompt is admitted: {stall:F0} ms (its time to first token {prefillMs:F0} ms)");
        }
        Console.WriteLine($"peak RSS {BenchArgs.PeakRssBytes() / 1048576.0:F0} MiB");
        return 0;
    }

    private static async Task WaitUntil(Func<bool> condition)
    {
        while (!condition())
        {
            await Task.Delay(10);
        }
    }

    private static int[] Prompt(int seed, int length)
    {
        var r = new Random(seed);
        return Enumerable.Range(0, length).Select(_ => r.Next(0, 151643)).ToArray();
    }

    private static GenerationRequest Greedy(int[] prompt, int max) => new(prompt, new SamplingParams(), max, []);

    private static async Task<List<long>> Generate(InferenceEngine engine, int[] prompt, int max, CancellationToken ct = default)
    {
        var times = new List<long>();
        await foreach (var _ in engine.GenerateAsync(Greedy(prompt, max), ct))
        {
            times.Add(Stopwatch.GetTimestamp());
        }
        return times;
    }

    /// <summary>Aggregate decode tokens/s of <paramref name="n"/> concurrent sequences, counted after each one's first token.</summary>
    private static async Task<double> Decode(InferenceEngine engine, int n, int tokens)
    {
        var runs = await Task.WhenAll(Enumerable.Range(0, n).Select(i => Generate(engine, Prompt(100 + i, 16), tokens)));
        var start = runs.Max(r => r[0]); // all prefills done
        var end = runs.Max(r => r[^1]);
        var counted = runs.Sum(r => r.Count(t => t > start));
        return counted / Stopwatch.GetElapsedTime(start, end).TotalSeconds;
    }

    /// <summary>8 streams decode; a 2,000-token prompt arrives; the longest gap between consecutive tokens of any stream while it is admitted.</summary>
    private static async Task<(double StallMs, double PrefillMs)> Stall(InferenceEngine engine)
    {
        using var cts = new CancellationTokenSource();
        var stamps = Enumerable.Range(0, StallStreams).Select(_ => new List<long>()).ToArray();
        var streams = Enumerable.Range(0, StallStreams).Select(async i =>
        {
            try
            {
                await foreach (var _ in engine.GenerateAsync(Greedy(Prompt(200 + i, 16), 100_000), cts.Token))
                {
                    lock (stamps[i])
                    {
                        stamps[i].Add(Stopwatch.GetTimestamp());
                    }
                }
            }
            catch (OperationCanceledException)
            {
            }
        }).ToList();
        await WaitUntil(() => engine.GetStats().Running == StallStreams); // all 8 decoding
        await Task.Delay(1000);
        var submitted = Stopwatch.GetTimestamp();
        var first = (await Generate(engine, Prompt(300, 2000), 1))[0];
        await Task.Delay(300);
        await cts.CancelAsync();
        await Task.WhenAll(streams);
        var worst = 0.0;
        foreach (var list in stamps)
        {
            for (var k = 1; k < list.Count; k++)
            {
                if (list[k] > submitted && list[k - 1] < first)
                {
                    worst = Math.Max(worst, Stopwatch.GetElapsedTime(list[k - 1], list[k]).TotalMilliseconds);
                }
            }
        }
        return (worst, Stopwatch.GetElapsedTime(submitted, first).TotalMilliseconds);
    }
}
