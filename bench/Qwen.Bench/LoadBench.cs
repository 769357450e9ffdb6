using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using Qwen.Bench.Load;

namespace Qwen.Bench;

/// <summary>
/// Load generator for any OpenAI-compatible server (streaming chat completions; it uses only /v1/chat/completions and,
/// when --model is not given, /v1/models). Usage:
/// <code>
/// load --url http://127.0.0.1:8000 [--concurrency 1,2,4,8,16 | --rate 0.5,1,2,4 [--poisson]]
///      [--requests N | --duration S]      per level; default max(32, 4 x concurrency) or max(32, 10 x rate) requests
///      [--prompt-tokens 32-96] [--max-tokens 64]   lengths: N | MIN-MAX | normal:MEAN,SD[,MAX] | lognormal:MEAN,SD[,MAX] | exp:MEAN[,MAX]
///      [--seed 7] [--timeout 600] [--logprobs] [--continuous-usage] [--no-ignore-eos] [--api-key K] [--model ID]
///      [--out results.json] [--chart chart.svg]
///      [--engine-dir DIR [--overhead-runs 7] [--engine-max-model-len 4096] [--engine-threads 0] [--engine-max-num-seqs 8]]
/// load --soak [--requests 3000] [--concurrency 8] [--sample-seconds 10] [--out soak.json]
/// </code>
/// Concurrency mode keeps N requests in flight; rate mode sends requests at R per second, evenly spaced or with
/// exponential gaps (--poisson), whatever the server's pace. Inter-token latency is per token, not per SSE chunk:
/// a chunk carrying k tokens after a gap dt counts as k gaps of dt/k. Tokens per chunk come from per-chunk usage
/// (--continuous-usage asks vLLM-style servers for it), else from the chunk's logprobs (--logprobs: exact on any
/// OpenAI server, but the server then computes a log-softmax per token), else one per content chunk; the table then
/// states the share of tokens the final usage reported beyond that count. Errors by kind: "http NNN", "error event"
/// (an error inside the stream), "timeout" (--timeout seconds per request), "connection", "truncated" (the stream
/// ended without data: [DONE]), "malformed event". With --engine-dir it also measures the HTTP layer's cost (one
/// stream over HTTP against the engine in-process, alternating runs; see <see cref="HttpOverhead"/>).
/// </summary>
internal static class LoadBench
{
    public static async Task<int> RunAsync(string[] args)
    {
        var a = new BenchArgs(args);
        var url = a.Get("url", "http://127.0.0.1:8000").TrimEnd('/') + "/";
        var apiKey = a.Get("api-key", "") is { Length: > 0 } k ? k : null;
        var promptTokens = LengthDistribution.Parse(a.Get("prompt-tokens", a.Get("prompt-words", "32-96")));
        var maxTokens = LengthDistribution.Parse(a.Get("max-tokens", "64"));
        var duration = a.Double("duration");
        using var http = new HttpClient { BaseAddress = new Uri(url), Timeout = Timeout.InfiniteTimeSpan };
        if (apiKey is not null)
        {
            http.DefaultRequestHeaders.Authorization = new("Bearer", apiKey);
        }
        var model = a.Get("model", "");
        if (model.Length == 0)
        {
            var models = await http.GetFromJsonAsync<JsonElement>("v1/models");
            model = models.GetProperty("data")[0].GetProperty("id").GetString()!;
        }
        var client = new StreamingClient(http, model, apiKey, a.Flag("logprobs"), a.Flag("continuous-usage"), TimeSpan.FromSeconds(a.Double("timeout") ?? 600), !a.Flag("no-ignore-eos"));
        if (a.Flag("soak"))
        {
            return await SoakRun.RunAsync(http, client, a.Int("requests", 3000), a.Int("concurrency", 8), a.Double("sample-seconds") ?? 10, a.Get("out", "") is { Length: > 0 } o ? o : null);
        }

        var random = new Random(a.Int("seed", 7));
        // Each vocabulary word is one Qwen2.5 token (with its leading space), so N words ≈ N prompt tokens plus the chat template's ~20.
        string Prompt() => string.Join(' ', Enumerable.Range(0, promptTokens.Draw(random)).Select(_ => Vocabulary[random.Next(Vocabulary.Length)]));

        await client.RunAsync("warm up", 4, CancellationToken.None);
        var rateMode = a.Get("rate", "").Length > 0;
        var poisson = a.Flag("poisson");
        var xLabel = rateMode ? $"request rate, requests/s ({(poisson ? "Poisson" : "evenly spaced")} arrivals)" : "concurrency (requests in flight)";
        var levels = new List<LevelSummary>();
        foreach (var load in rateMode ? a.Doubles("rate", "") : a.Doubles("concurrency", "1,2,4,8,16"))
        {
            var n = a.Get("requests", "") is { Length: > 0 } given ? int.Parse(given, CultureInfo.InvariantCulture)
                : Math.Max(32, (int)Math.Ceiling((rateMode ? 10 : 4) * load));
            var label = load.ToString(CultureInfo.InvariantCulture) + (rateMode ? "/s" : "");
            var (results, seconds) = rateMode
                ? await AtRateAsync(client, load, poisson, n, duration, random, Prompt, maxTokens)
                : await AtConcurrencyAsync(client, (int)load, n, duration, random, Prompt, maxTokens);
            levels.Add(LevelSummary.From(label, load, results, seconds));
            Print(levels[^1], levels[0]);
        }

        Console.WriteLine($"model {model} at {url}; prompt tokens {promptTokens} (+ template), output tokens {maxTokens}{(a.Flag("no-ignore-eos") ? " at most (the model may stop earlier)" : " (ignore_eos)")}; {(rateMode ? $"rate mode, {(poisson ? "Poisson" : "evenly spaced")} arrivals" : "concurrency mode")}");
        Console.WriteLine("| load | requests (ok) | req/s | output tok/s | vs first | TTFT p50/p90/p99 ms | ITL p50/p90/p99 ms | E2E p50/p90/p99 ms | samples TTFT/ITL/E2E | errors |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|---|---|");
        foreach (var l in levels)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {l.Level} | {l.Requests} ({l.Succeeded}) | {l.RequestsPerSecond:F2} | {l.OutputTokensPerSecond:F1} | {l.OutputTokensPerSecond / levels[0].OutputTokensPerSecond:F2}x | {l.TtftP50:F0}/{l.TtftP90:F0}/{l.TtftP99:F0} | {l.ItlP50:F1}/{l.ItlP90:F1}/{l.ItlP99:F1} | {l.E2eP50:F0}/{l.E2eP90:F0}/{l.E2eP99:F0} | {l.TtftSamples}/{l.ItlSamples}/{l.E2eSamples} | {(l.Errors.Count == 0 ? "0" : string.Join(", ", l.Errors.Select(e => $"{e.Key}: {e.Value}")))} |"));
        }
        Console.WriteLine("Percentiles are nearest-rank; TTFT and E2E have one sample per successful request, ITL one per token gap. A p99 over fewer than 100 samples is the largest sample.");
        if (levels.Max(l => l.UnattributedTokenShare) is > 0 and var share)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Up to {share:P1} of the tokens arrived in chunks carrying several tokens that the server did not count per chunk: those gaps were counted once per chunk. Rerun with --logprobs (or --continuous-usage on vLLM) for exact per-token gaps."));
        }
        if (!rateMode && levels.FirstOrDefault(l => l.Load == 1) is { } c1 && levels.FirstOrDefault(l => l.Load == 8) is { } c8)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"output tokens/s at concurrency 8 / concurrency 1: {c8.OutputTokensPerSecond / c1.OutputTokensPerSecond:F2}"));
        }
        HttpOverhead? overhead = null;
        if (a.Get("engine-dir", "") is { Length: > 0 } engineDir)
        {
            overhead = await HttpOverhead.MeasureAsync(client, engineDir, maxTokens.Typical, a.Int("engine-max-model-len", 4096), a.Int("engine-threads", 0), a.Int("overhead-runs", 7), a.Int("engine-max-num-seqs", 8));
            Console.WriteLine(overhead);
        }
        if (a.Get("out", "") is { Length: > 0 } outPath)
        {
            var json = new { url, model, mode = rateMode ? "rate" : "concurrency", poisson = rateMode ? poisson : (bool?)null, prompt_tokens = promptTokens.ToString(), max_tokens = maxTokens.ToString(), http_overhead = overhead, levels };
            await BenchJson.WriteAsync(outPath, json);
        }
        if (a.Get("chart", "") is { Length: > 0 } chartPath)
        {
            await File.WriteAllTextAsync(chartPath, SvgChart.Render(levels, $"{model}: latency and throughput against load ({promptTokens} prompt, {maxTokens} output tokens)", xLabel));
        }
        return levels.Any(l => l.Errors.Count > 0) ? 1 : 0;
    }

    /// <summary>Keeps <paramref name="concurrency"/> requests in flight until <paramref name="n"/> were sent (or <paramref name="duration"/> seconds passed).</summary>
    private static async Task<(List<StreamResult>, double)> AtConcurrencyAsync(StreamingClient client, int concurrency, int n, double? duration, Random random, Func<string> prompt, LengthDistribution maxTokens)
    {
        var issued = 0;
        var results = new List<StreamResult>();
        var sw = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async _ =>
        {
            while (true)
            {
                string text;
                int tokens;
                lock (results)
                {
                    if (duration is { } limit ? sw.Elapsed.TotalSeconds >= limit : issued >= n)
                    {
                        return;
                    }
                    issued++;
                    text = prompt();
                    tokens = maxTokens.Draw(random);
                }
                var r = await client.RunAsync(text, tokens, CancellationToken.None);
                lock (results)
                {
                    results.Add(r);
                }
            }
        }));
        return (results, sw.Elapsed.TotalSeconds);
    }

    /// <summary>Sends <paramref name="n"/> requests (or for <paramref name="duration"/> seconds) at <paramref name="rate"/> per second, then waits for all of them.</summary>
    private static async Task<(List<StreamResult>, double)> AtRateAsync(StreamingClient client, double rate, bool poisson, int n, double? duration, Random random, Func<string> prompt, LengthDistribution maxTokens)
    {
        var sw = Stopwatch.StartNew();
        var tasks = new List<Task<StreamResult>>();
        var due = 0.0; // seconds since the start at which the next request is due: gaps do not accumulate the loop's own delays
        for (var i = 0; duration is { } limit ? due < limit : i < n; i++)
        {
            if (due > sw.Elapsed.TotalSeconds)
            {
                await Task.Delay(TimeSpan.FromSeconds(due - sw.Elapsed.TotalSeconds));
            }
            tasks.Add(client.RunAsync(prompt(), maxTokens.Draw(random), CancellationToken.None));
            // Poisson arrivals: exponential gaps with mean 1/rate; otherwise evenly spaced.
            due += poisson ? -Math.Log(1 - random.NextDouble()) / rate : 1 / rate;
        }
        var results = await Task.WhenAll(tasks);
        return (results.ToList(), sw.Elapsed.TotalSeconds);
    }

    private static void Print(LevelSummary l, LevelSummary first)
        => Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"load {l.Level}: {l.Requests} requests, {l.OutputTokensPerSecond:F1} output tok/s ({l.OutputTokensPerSecond / first.OutputTokensPerSecond:F2}x), ITL p50 {l.ItlP50:F1} ms, TTFT p50 {l.TtftP50:F0} ms, errors {l.Errors.Values.Sum()}"));

    /// <summary>Prompt words: each one Qwen2.5 token with its leading space.</summary>
    internal static readonly string[] Vocabulary = ["the", "model", "server", "time", "stream", "water", "house", "light", "answer", "question", "weather", "city", "river", "mountain", "quickly", "because", "people", "world", "small", "number"];
}
