using System.Diagnostics;
using System.Globalization;
using Qwen.Inference.Engine;
using Qwen.Inference.Model;
using Qwen.Inference.Sampling;
using Qwen.Inference.Scheduling;
using Qwen.OnnxExport;

namespace Qwen.Bench;

/// <summary>
/// Engine throughput on a random preset: `engine --preset qwen2.5-0.5b --precision int4|fp32 [--candidates on|off]
/// [--streams 1,4,8] [--ep cpu|cuda] [--parallel-rows N] [--candidate-rows N] [--sampling yes]`. Prints prefill tokens/s (median of three 512-token prompts),
/// decode tokens/s at each stream count, the stall of 8 running streams while a 2,000-token prompt is admitted (two chunk
/// sizes; not with --quick yes), peak memory and the share of step time spent outside ONNX Runtime's Run. --candidates
/// samples decode rows from the candidates graph (default: the engine's, on for CUDA only) in steps of at least
/// --candidate-rows running rows (default the engine's, 8); --parallel-rows sets the
/// batch from which rows are sampled on several threads; --sampling yes first times a step's sampling alone, serial
/// against parallel; --steps yes first times decode steps in the runner alone, full rows against candidates.
/// Then (not with --quick yes unless asked): --lone yes, a lone sequence left in the highest of 8 slots against one
/// started alone (<see cref="LoneSlotBench"/>, --rounds 3); --contexts 2048,8192 (none: skip), decode at those contexts
/// with 1 and 8 streams (<see cref="LongContextBench"/>). --prefix-caching on|off sets the engines' prefix caching
/// (default on); --agent yes ends with the agent loop (<see cref="AgentLoopBench"/>, same options).
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
        var streams = a.Doubles("streams", "1,4,8").Select(n => (int)n).ToArray();
        var options = new EngineOptions
        {
            MaxNumSeqs = Math.Max(8, streams.Max()),
            MaxModelLen = 2560,
            MaxWaiting = 64,
            PrefillChunkSize = 256,
            IntraOpThreads = a.Int("threads", 0),
            ExecutionProvider = a.Get("ep", "cpu"),
            SampleFromCandidates = a.Get("candidates", "auto") switch { "on" => true, "off" => false, "auto" => null, var other => throw new ArgumentException($"--candidates must be on, off or auto (given '{other}')") },
            PrefixCaching = a.Get("prefix-caching", "on") switch { "on" => true, "off" => false, var other => throw new ArgumentException($"--prefix-caching must be on or off (given '{other}')") },
            HugePages = a.Get("huge-pages", "on") switch { "on" => true, "off" => false, var other => throw new ArgumentException($"--huge-pages must be on or off (given '{other}')") },
        };
        options = options with
        {
            ParallelSamplingMinRows = a.Int("parallel-rows", options.ParallelSamplingMinRows),
            CandidatesMinRows = a.Int("candidate-rows", options.CandidatesMinRows),
        };
        if (a.Get("sampling", "no") == "yes")
        {
            ParallelSampling(streams);
        }
        if (a.Get("steps", "no") == "yes")
        {
            RunnerSteps(dir, options, streams);
        }

        await using (var engine = InferenceEngine.Load(dir, options))
        {
            Console.WriteLine($"huge pages: {engine.Info.HugePageBytes / 1048576.0:F0} MiB of the model's host memory");
            Console.WriteLine($"{options.ExecutionProvider}, candidates per row {engine.Info.CandidateCount} (0: full rows), candidates from {options.CandidatesMinRows} running rows, rows sampled in parallel from {options.ParallelSamplingMinRows}");
            await Generate(engine, Prompt(1, 16), 4); // warm-up
            var prefillMs = await Prefill512Ms(engine);
            var median = Statistics.Median(prefillMs);
            Console.WriteLine($"prefill 512 tokens: {512000 / median:F0} tok/s (median of {string.Join(", ", prefillMs.Select(ms => ms.ToString("F0", CultureInfo.InvariantCulture)))} ms, chunks of {options.PrefillChunkSize})");

            var rates = new List<string>();
            double? first = null;
            foreach (var n in streams)
            {
                var rate = await Decode(engine, n, decodeTokens);
                first ??= rate;
                rates.Add($"{n} seq {rate:F1} tok/s ({rate / first:F2}x)");
            }
            Console.WriteLine($"decode: {string.Join("; ", rates)}");
            Console.WriteLine($"share of step time outside Run (sampling, bookkeeping): {engine.OutsideRunShare * 100:F2}%");
        }

        var quick = a.Get("quick", "no") == "yes";
        foreach (var chunk in quick ? [] : new[] { 256, 2048 })
        {
            // 9 slots: the 8 streams keep theirs while the long prompt takes the ninth.
            await using var engine = InferenceEngine.Load(dir, options with { MaxNumSeqs = StallStreams + 1, PrefillChunkSize = chunk });
            var (stall, prefillMs) = await Stall(engine);
            Console.WriteLine($"chunk {chunk}: 8 running streams' longest gap while a 2,000-token prompt is admitted: {stall:F0} ms (its time to first token {prefillMs:F0} ms)");
        }
        if (a.Get("lone", quick ? "no" : "yes") == "yes")
        {
            await LoneSlotBench.Run(dir, options, decodeTokens, a.Int("rounds", 3));
        }
        var contexts = a.Get("contexts", quick ? "none" : "2048,8192") is var list and not "none" ? list.Split(',').Select(c => int.Parse(c, CultureInfo.InvariantCulture)).ToArray() : [];
        if (contexts.Length > 0)
        {
            await LongContextBench.Run(dir, options, contexts, decodeTokens);
        }
        Console.WriteLine($"peak RSS {BenchArgs.PeakRssBytes() / 1048576.0:F0} MiB");
        if (a.Get("agent", "no") == "yes")
        {
            return await AgentLoopBench.RunAsync(args);
        }
        return 0;
    }

    /// <summary>
    /// One decode step's sampling alone, as the scheduler does it: B rows of 151,936 logits with Qwen2.5's defaults
    /// (temperature 0.7, top_p 0.8, top_k 20, repetition penalty 1.05), on the loop thread against the sampler pool.
    /// </summary>
    private static void ParallelSampling(int[] streams)
    {
        const int vocab = 151_936;
        var random = new Random(1);
        var batch = Math.Max(64, streams.Max());
        var logits = Enumerable.Range(0, batch * vocab).Select(_ => (float)(Statistics.Gaussian(random) * 2.5)).ToArray();
        var p = new SamplingParams { Temperature = 0.7f, TopP = 0.8f, TopK = 20, RepetitionPenalty = 1.05f, Seed = 1 };
        var states = Enumerable.Range(0, batch).Select(_ => new SamplingState(p, Prompt(7, 200), vocab)).ToArray();
        var rows = Enumerable.Range(0, batch).ToArray();
        var serial = new SamplerPool(vocab, int.MaxValue);
        var parallel = new SamplerPool(vocab, 2);
        void Body(Sampler sampler, int row) => sampler.Sample(logits.AsSpan(row * vocab, vocab), states[row]);
        double Time(SamplerPool pool, int b)
        {
            var rounds = new double[7];
            for (var r = 0; r < rounds.Length; r++)
            {
                var start = Stopwatch.GetTimestamp();
                for (var i = 0; i < 20; i++)
                {
                    pool.ForEach(rows, 0, b, Body);
                }
                rounds[r] = Stopwatch.GetElapsedTime(start).TotalMicroseconds / 20;
            }
            Array.Sort(rounds);
            return rounds[rounds.Length / 2];
        }
        Time(serial, 8);
        Time(parallel, 8); // warm-up: JIT, the samplers' buffers, the thread pool
        foreach (var b in new[] { 2, 4, 8, 16, 32, 64 }.Where(b => b <= batch))
        {
            var (one, many) = (Time(serial, b), Time(parallel, b));
            Console.WriteLine($"sampling {b} rows (qwen defaults): {one:F0} µs on the loop thread, {many:F0} µs on the pool ({one / many:F2}x), median of 7 rounds");
        }
    }

    /// <summary>
    /// Decode steps in the runner alone, alternating on one runner (so a busy machine slows all three alike): B full rows
    /// copied out; B rows' candidates; candidates and then every full row read after (every row falling back, the worst case).
    /// The last also checks the candidates against a naive top K of the same step's full rows (the check a device run needs:
    /// on CUDA the candidates come from device memory through another session).
    /// </summary>
    private static void RunnerSteps(string dir, EngineOptions options, int[] streams)
    {
        using var runner = OnnxModelRunner.Create(dir, options with { SampleFromCandidates = true });
        Console.WriteLine($"runner: huge pages {runner.HugePageBytes / 1048576.0:F0} MiB");
        var (v, k) = (runner.VocabSize, runner.CandidateCount);
        var logits = new float[runner.MaxNumSeqs * v];
        var (values, ids, lse) = (new float[runner.MaxNumSeqs * k], new int[runner.MaxNumSeqs * k], new float[runner.MaxNumSeqs]);
        var prefill = new float[v];
        for (var slot = 0; slot < runner.MaxNumSeqs; slot++)
        {
            runner.Prefill(slot, Prompt(400 + slot, 16), 0, prefill);
        }
        foreach (var b in streams)
        {
            var tokens = Prompt(500 + b, b);
            var pasts = Enumerable.Repeat(16, b).ToArray(); // every step writes position 16 again: the same work each time
            var all = Enumerable.Range(0, b).ToArray();
            var times = new List<double>[] { [], [], [] };
            var check = new List<(int Exact, int Tied, double WorstLse)>();
            for (var i = 0; i < 24; i++)
            {
                var t = Stopwatch.GetTimestamp();
                runner.Decode(tokens, pasts, logits);
                times[0].Add(Stopwatch.GetElapsedTime(t).TotalMilliseconds);
                t = Stopwatch.GetTimestamp();
                runner.DecodeCandidates(tokens, pasts, [], values, ids, lse, []);
                times[1].Add(Stopwatch.GetElapsedTime(t).TotalMilliseconds);
                t = Stopwatch.GetTimestamp();
                runner.DecodeCandidates(tokens, pasts, [], values, ids, lse, []);
                runner.ReadLogits(all, logits);
                times[2].Add(Stopwatch.GetElapsedTime(t).TotalMilliseconds);
                if (i < 2)
                {
                    check.Add(CheckCandidates(logits, values, ids, lse, b, v, k));
                }
            }
            var m = times.Select(l => l.Skip(4).Order().ElementAt((l.Count - 4) / 2)).ToArray();
            Console.WriteLine($"runner, batch {b}: decode with full rows {m[0]:F2} ms; with candidates {m[1]:F2} ms ({m[1] - m[0]:+0.00;-0.00} ms); candidates then every full row {m[2]:F2} ms ({m[2] - m[0]:+0.00;-0.00} ms); medians of 20");
            Console.WriteLine($"runner, batch {b}: candidates equal a naive top {k} of the full rows (ids, values bit for bit) in {check.Sum(c => c.Exact)}/{2 * b} rows ({check.Sum(c => c.Tied)} with equal values among their best {k} or at the {k}-th place); largest |log-sum-exp - double reference| {check.Max(c => c.WorstLse):G3}");
        }
    }

    /// <summary>Rows whose candidates are exactly the top K (value desc, id asc) of their full row; rows with ties there; worst log-sum-exp error.</summary>
    private static (int Exact, int Tied, double WorstLse) CheckCandidates(float[] logits, float[] values, int[] ids, float[] lse, int batch, int vocab, int k)
    {
        var (exact, tied, worst) = (0, 0, 0.0);
        for (var b = 0; b < batch; b++)
        {
            var row = logits.AsSpan(b * vocab, vocab).ToArray();
            var sorted = row.ToArray();
            Array.Sort(sorted);
            var kth = sorted[vocab - k]; // the K-th highest value
            var top = Enumerable.Range(0, vocab).Where(i => row[i] >= kth).OrderBy(i => -row[i]).ThenBy(i => i).ToArray();
            exact += top.Take(k).SequenceEqual(ids.AsSpan(b * k, k).ToArray()) && top.Take(k).Select(i => row[i]).SequenceEqual(values.AsSpan(b * k, k).ToArray()) ? 1 : 0;
            tied += top.Length > k || top.Select(i => row[i]).Distinct().Count() < k ? 1 : 0;
            var max = row.Max();
            worst = Math.Max(worst, Math.Abs(lse[b] - (max + Math.Log(row.Sum(x => Math.Exp(x - (double)max))))));
        }
        return (exact, tied, worst);
    }

    internal static async Task WaitUntil(Func<bool> condition)
    {
        while (!condition())
        {
            await Task.Delay(10);
        }
    }

    internal static int[] Prompt(int seed, int length)
    {
        var r = new Random(seed);
        return Enumerable.Range(0, length).Select(_ => r.Next(0, 151643)).ToArray();
    }

    internal static GenerationRequest Greedy(int[] prompt, int max) => new(prompt, new SamplingParams(), max, []);

    /// <summary>
    /// Time to first token of 3 distinct 512-token prompts, in ms; their median is the prefill figure (here and in the
    /// llama bench): the first 512-token prompt after start-up pays for the first touch of prefill-sized buffers, up to
    /// twice a warm one.
    /// </summary>
    internal static async Task<List<double>> Prefill512Ms(InferenceEngine engine)
    {
        var ms = new List<double>();
        for (var i = 0; i < 3; i++)
        {
            var sw = Stopwatch.StartNew();
            await Generate(engine, Prompt(10 + i, 512), 1);
            ms.Add(sw.Elapsed.TotalMilliseconds);
        }
        return ms;
    }

    internal static async Task<List<long>> Generate(InferenceEngine engine, int[] prompt, int max, CancellationToken ct = default)
        => (await Timed(engine, Greedy(prompt, max), ct)).Stamps;

    /// <summary>Runs <paramref name="request"/> to its end: each token's timestamp and the prompt tokens the engine took from its prefix cache.</summary>
    internal static async Task<(List<long> Stamps, int CachedTokens)> Timed(InferenceEngine engine, GenerationRequest request, CancellationToken ct = default)
    {
        var times = new List<long>();
        var stream = engine.GenerateAsync(request, ct);
        await foreach (var _ in stream)
        {
            times.Add(Stopwatch.GetTimestamp());
        }
        return (times, stream.CachedTokens);
    }

    /// <summary>
    /// Runs <paramref name="request"/> until it ends or <paramref name="ct"/> is cancelled, adding each token's timestamp to
    /// <paramref name="stamps"/> (under its lock, so another task may read it meanwhile); returns the prompt tokens the
    /// engine took from its prefix cache.
    /// </summary>
    internal static async Task<int> Stamped(InferenceEngine engine, GenerationRequest request, List<long> stamps, CancellationToken ct)
    {
        var stream = engine.GenerateAsync(request, ct);
        try
        {
            await foreach (var _ in stream)
            {
                lock (stamps)
                {
                    stamps.Add(Stopwatch.GetTimestamp());
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
        return stream.CachedTokens;
    }

    /// <summary>How many of <paramref name="stamps"/> lie after <paramref name="from"/> (read under its lock).</summary>
    internal static int CountAfter(List<long> stamps, long from)
    {
        lock (stamps)
        {
            return stamps.Count(t => t > from);
        }
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
