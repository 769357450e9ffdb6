using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Qwen.Inference.Engine;
using Qwen.OnnxExport;

namespace Qwen.Bench.Llama;

/// <summary>
/// Our engine against llama.cpp on the same weights, in one run: `llama [--precision int4|fp32] [--preset qwen2.5-0.5b]
/// [--seed 1234] [--threads 2] [--llama-threads N] [--contexts 2048,8192] [--streams 1,8] [--tokens 32] [--parity-tokens 16] [--quick yes]`.
/// Installs node-llama-cpp into a cache folder when missing, writes the random checkpoint as GGUF (f32, and q4_0 for
/// int4; cached), then first checks that the f32 GGUF holds our weights: greedy continuations of seeded prompts from
/// llama.cpp and from our fp32 engine must agree token for token (else it measures nothing). Then, alternating llama.cpp
/// and our engine figure by figure (so a busy machine slows both alike): time to first token of a 512-token prompt
/// (median of 3), aggregate decode rate of 1 and 8 streams after 16-token prompts, and after prompts of each --contexts
/// length (<see cref="DecodeWindow"/>); prints one table with the ratios. --quick yes: no long contexts, 16 tokens.
/// --llama-threads gives llama.cpp another thread count than ours (default the same): on a host busier than its cores,
/// ggml's threads meet at a barrier after every op, and one descheduled thread stalls the other there (see bench/README.md).
/// </summary>
internal static class LlamaBench
{
    private const int ShortPrompt = 16;

    public static async Task<int> RunAsync(string[] args)
    {
        var a = new BenchArgs(args);
        var preset = a.Get("preset", "qwen2.5-0.5b");
        var precision = a.Get("precision", "int4");
        if (precision is not ("int4" or "fp32"))
        {
            throw new ArgumentException($"--precision must be int4 or fp32 (given '{precision}')");
        }
        var seed = a.Int("seed", 1234);
        var threads = a.Int("threads", 2);
        var llamaThreads = a.Int("llama-threads", threads);
        var quick = a.Get("quick", "no") == "yes";
        var contexts = a.Doubles("contexts", quick ? "" : "2048,8192").Select(n => (int)n).ToArray();
        var streams = a.Doubles("streams", "1,8").Select(n => (int)n).ToArray();
        var tokens = a.Int("tokens", quick ? 16 : 32);
        var cache = Environment.GetEnvironmentVariable("QWEN_LLAMA_CACHE") is { Length: > 0 } env ? env : Path.Combine(Path.GetTempPath(), "qwen-llama-bench");
        Console.WriteLine($"llama: {preset} seed {seed}, {threads} threads (llama.cpp {llamaThreads}), {Environment.ProcessorCount} cores, load average {LoadAverage()}");

        var nodeDir = NodeLlamaCpp.Install(cache);
        var fp32Dir = RandomModelCache.GetOrCreate(preset, "fp32", seed);
        var f32Gguf = Timed("f32 GGUF", () => QwenGguf.GetOrCreate(preset, GgufPrecision.F32, seed, Path.Combine(cache, "gguf")));
        if (!await Parity(nodeDir, f32Gguf, fp32Dir, threads, a.Int("parity-tokens", 16)))
        {
            Console.Error.WriteLine("llama: the f32 GGUF and our fp32 engine disagree, so the GGUF does not hold the same model; nothing measured");
            return 1;
        }

        var int4 = precision == "int4";
        var modelDir = int4 ? RandomModelCache.GetOrCreate(preset, "int4", seed) : fp32Dir;
        var gguf = int4 ? Timed("q4_0 GGUF", () => QwenGguf.GetOrCreate(preset, GgufPrecision.Q4_0, seed, Path.Combine(cache, "gguf"))) : f32Gguf;
        var rows = new List<(string Figure, double Llama, double Ours)>();
        using var llama = NodeLlamaCpp.Start(nodeDir, gguf, llamaThreads);
        Console.WriteLine($"llama.cpp {llama.Send(new() { ["op"] = "info" }).ToJsonString()}");

        // Each figure runs on both sides back to back, the side going first alternating from figure to figure.
        async Task Figure(string name, Func<double> llamaSide, Func<Task<double>> ourSide)
        {
            double l, o;
            if (rows.Count % 2 == 0)
            {
                l = llamaSide();
                o = await ourSide();
            }
            else
            {
                o = await ourSide();
                l = llamaSide();
            }
            rows.Add((name, l, o));
            Console.WriteLine($"{name}: llama.cpp {l:F1}, ours {o:F1} ({o / l:F2}x); load average {LoadAverage()}");
        }

        var options = new EngineOptions { MaxNumSeqs = streams.Max(), IntraOpThreads = threads, PrefixCaching = false, MaxWaiting = 64 };
        await using (var engine = InferenceEngine.Load(modelDir, options with { MaxModelLen = 1024 }))
        {
            await EngineBench.Generate(engine, EngineBench.Prompt(1, ShortPrompt), 4); // warm-up: the first run of a graph pays for its allocations
            LlamaPrefillMs(llama, EngineBench.Prompt(1, ShortPrompt)); // and llama.cpp's
            await Figure(
                "prefill 512 tokens, tok/s (median of 3)",
                () => 512 / (Statistics.Median(Enumerable.Range(0, 3).Select(i => LlamaPrefillMs(llama, EngineBench.Prompt(10 + i, 512)))) / 1000),
                async () => 512000 / Statistics.Median(await EngineBench.Prefill512Ms(engine)));
            foreach (var n in streams)
            {
                var prompts = Prompts(100, n, ShortPrompt);
                await Figure($"decode {n} stream{(n > 1 ? "s" : "")}, {ShortPrompt}-token prompts, tok/s", () => LlamaDecode(llama, prompts, tokens), () => Decode(engine, prompts, tokens, 1024));
            }
        }
        foreach (var context in contexts)
        {
            // Room for the window's tokens and for the rows an early stream decodes while the others prefill (one per step).
            var cap = tokens + ((streams.Max() - 1) * ((context / options.PrefillChunkSize) + 1)) + 64;
            await using var engine = InferenceEngine.Load(modelDir, options with { MaxModelLen = context + cap });
            await EngineBench.Generate(engine, EngineBench.Prompt(1, ShortPrompt), 4);
            foreach (var n in streams)
            {
                var prompts = Prompts(1000 + context + n, n, context);
                await Figure($"decode {n} stream{(n > 1 ? "s" : "")} at {context:N0} tokens of context, tok/s", () => LlamaDecode(llama, prompts, tokens), () => Decode(engine, prompts, tokens, context + cap));
            }
        }

        var (ours, theirs) = int4 ? ("ours int4", "llama.cpp q4_0") : ("ours fp32", "llama.cpp f32");
        Console.WriteLine();
        Console.WriteLine($"| {preset}, {threads} threads (llama.cpp {llamaThreads}) | {theirs} | {ours} | ours / llama.cpp |");
        Console.WriteLine("|---|---|---|---|");
        foreach (var (figure, l, o) in rows)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {figure} | {l:F1} | {o:F1} | {o / l:F2}x |"));
        }
        Console.WriteLine($"load average after: {LoadAverage()}; peak RSS of this process {BenchArgs.PeakRssBytes() / 1048576.0:F0} MiB");
        return 0;
    }

    /// <summary>
    /// Greedy continuations of seeded prompts (8 to 200 tokens) from llama.cpp on the f32 GGUF and from our fp32 engine:
    /// prints, per prompt, how many of the first <paramref name="count"/> tokens agree; true when all do.
    /// </summary>
    private static async Task<bool> Parity(string nodeDir, string gguf, string fp32Dir, int threads, int count)
    {
        var prompts = new[] { 8, 32, 100, 200 }.Select((length, i) => EngineBench.Prompt(50 + i, length)).ToArray();
        int[][] theirs;
        using (var llama = NodeLlamaCpp.Start(nodeDir, gguf, threads))
        {
            theirs = NodeLlamaCpp.Ids(llama.Send(Command("greedy", ("prompts", NodeLlamaCpp.Ids(prompts)), ("tokens", count)))["outputs"]!);
        }
        var ours = new List<int[]>();
        await using (var engine = InferenceEngine.Load(fp32Dir, new EngineOptions { MaxNumSeqs = 1, MaxModelLen = 512, IntraOpThreads = threads, PrefixCaching = false }))
        {
            foreach (var p in prompts)
            {
                var ids = new List<int>();
                await foreach (var t in engine.GenerateAsync(EngineBench.Greedy(p, count)))
                {
                    ids.Add(t.TokenId);
                }
                ours.Add([.. ids]);
            }
        }
        var agreed = 0;
        for (var i = 0; i < prompts.Length; i++)
        {
            var same = ours[i].Zip(theirs[i]).TakeWhile(x => x.First == x.Second).Count();
            agreed += same;
            Console.WriteLine($"parity, prompt {i} ({prompts[i].Length} tokens): {same}/{count} greedy tokens equal (ours {string.Join(' ', ours[i].Take(6))} …, llama.cpp {string.Join(' ', theirs[i].Take(6))} …)");
        }
        Console.WriteLine($"parity: {agreed}/{prompts.Length * count} tokens equal, f32 GGUF on llama.cpp against our fp32 export");
        return agreed == prompts.Length * count;
    }

    private static double LlamaPrefillMs(NodeLlamaCpp llama, int[] prompt)
        => (double)llama.Send(Command("prefill", ("prompt", NodeLlamaCpp.Ids(prompt))))["ms"]!;

    private static double LlamaDecode(NodeLlamaCpp llama, int[][] prompts, int tokens)
        => (double)llama.Send(Command("decode", ("prompts", NodeLlamaCpp.Ids(prompts)), ("tokens", tokens)))["rate"]!;

    /// <summary>Our side of <see cref="DecodeWindow"/>: every prompt a greedy stream, all cancelled once the window closes.</summary>
    private static async Task<double> Decode(InferenceEngine engine, int[][] prompts, int tokens, int maxModelLen)
    {
        var window = new DecodeWindow(prompts.Length, tokens);
        using var cts = new CancellationTokenSource();
        await Task.WhenAll(prompts.Select(async (p, i) =>
        {
            try
            {
                await foreach (var _ in engine.GenerateAsync(EngineBench.Greedy(p, maxModelLen - p.Length), cts.Token))
                {
                    if (window.Add(i))
                    {
                        await cts.CancelAsync();
                    }
                }
            }
            catch (OperationCanceledException)
            {
            }
        }));
        return window.Rate();
    }

    private static int[][] Prompts(int seed, int n, int length) => [.. Enumerable.Range(0, n).Select(i => EngineBench.Prompt(seed + i, length))];

    private static JsonObject Command(string op, params (string Key, JsonNode Value)[] fields)
    {
        var o = new JsonObject { ["op"] = op };
        foreach (var (key, value) in fields)
        {
            o[key] = value;
        }
        return o;
    }

    private static T Timed<T>(string what, Func<T> body)
    {
        var sw = Stopwatch.StartNew();
        var result = body();
        Console.WriteLine($"{what}: {result} ({sw.Elapsed.TotalSeconds:F1} s)");
        return result;
    }

    private static string LoadAverage() => File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";
}
