using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using Qwen.Bench.Load;
using Qwen.Inference.Engine;
using Qwen.Inference.Sampling;

namespace Qwen.Bench;

/// <summary>
/// Load generator for any OpenAI-compatible server (streaming chat completions):
/// `load --url http://127.0.0.1:8000 [--concurrency 1,2,4,8,16 | --rate R [--poisson]] [--requests N | --duration S]
///  [--prompt-tokens 32-96] [--max-tokens 64|32-128] [--out results.json] [--chart chart.svg] [--api-key K] [--model ID]
///  [--engine-dir DIR [--engine-max-model-len 4096] [--engine-threads 0]]`.
/// With --engine-dir it also measures the HTTP layer's cost: one stream through HTTP against the engine driven in-process
/// over the same model directory. `load --soak [--requests 3000] [--concurrency 8]` runs the long mixed-request soak instead.
/// </summary>
internal static class LoadBench
{
    public static async Task<int> RunAsync(string[] args)
    {
        var a = new BenchArgs(args);
        var url = a.Get("url", "http://127.0.0.1:8000").TrimEnd('/') + "/";
        var apiKey = a.Get("api-key", "") is { Length: > 0 } k ? k : null;
        var promptTokens = IntRange.Parse(a.Get("prompt-tokens", a.Get("prompt-words", "32-96")));
        var maxTokens = IntRange.Parse(a.Get("max-tokens", "64"));
        var duration = a.Get("duration", "") is { Length: > 0 } d ? double.Parse(d, CultureInfo.InvariantCulture) : (double?)null;
        using var http = new HttpClient { BaseAddress = new Uri(url), Timeout = TimeSpan.FromMinutes(10) };
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
        var client = new StreamingClient(http, model, apiKey);
        if (args.Contains("--soak"))
        {
            return await SoakRun.RunAsync(http, client, a.Int("requests", 3000), a.Int("concurrency", 8), double.Parse(a.Get("sample-seconds", "10"), CultureInfo.InvariantCulture), a.Get("out", "") is { Length: > 0 } o ? o : null);
        }

        var random = new Random(7);
        // Each vocabulary word is one Qwen2.5 token (with its leading space), so N words ≈ N prompt tokens plus the chat template's ~20.
        string Prompt() => string.Join(' ', Enumerable.Range(0, promptTokens.Draw(random)).Select(_ => Vocabulary[random.Next(Vocabulary.Length)]));

        await client.RunAsync("warm up", 4, CancellationToken.None);
        var levels = new List<LevelSummary>();
        if (a.Get("rate", "") is { Length: > 0 } rateText)
        {
            var rate = double.Parse(rateText, CultureInfo.InvariantCulture);
            var poisson = args.Contains("--poisson");
            var n = a.Int("requests", 32);
            var sw = Stopwatch.StartNew();
            var tasks = new List<Task<StreamResult>>();
            for (var i = 0; duration is { } limit ? sw.Elapsed.TotalSeconds < limit : i < n; i++)
            {
                tasks.Add(client.RunAsync(Prompt(), maxTokens.Draw(random), CancellationToken.None));
                // Poisson arrivals: exponential gaps with mean 1/rate; otherwise evenly spaced.
                await Task.Delay(TimeSpan.FromSeconds(poisson ? -Math.Log(1 - random.NextDouble()) / rate : 1 / rate));
            }
            levels.Add(LevelSummary.From($"{rate.ToString(CultureInfo.InvariantCulture)}/s", await Task.WhenAll(tasks), sw.Elapsed.TotalSeconds));
            Print(levels[^1], levels[0]);
        }
        else
        {
            foreach (var c in a.Get("concurrency", "1,2,4,8,16").Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture)))
            {
                var n = a.Int("requests", Math.Max(8, 2 * c));
                var issued = 0;
                var results = new List<StreamResult>();
                var sw = Stopwatch.StartNew();
                await Task.WhenAll(Enumerable.Range(0, c).Select(async _ =>
                {
                    while (true)
                    {
                        string prompt;
                        int tokens;
                        lock (results)
                        {
                            if (duration is { } limit ? sw.Elapsed.TotalSeconds >= limit : issued >= n)
                            {
                                return;
                            }
                            issued++;
                            prompt = Prompt();
                            tokens = maxTokens.Draw(random);
                        }
                        var r = await client.RunAsync(prompt, tokens, CancellationToken.None);
                        lock (results)
                        {
                            results.Add(r);
                        }
                    }
                }));
                levels.Add(LevelSummary.From(c.ToString(CultureInfo.InvariantCulture), results, sw.Elapsed.TotalSeconds));
                Print(levels[^1], levels[0]);
            }
        }

        Console.WriteLine($"model {model} at {url}; prompt tokens {promptTokens} (+ template), output tokens {maxTokens} (ignore_eos)");
        Console.WriteLine("| load | requests | req/s | output tok/s | vs first | TTFT p50/p90/p99 ms | ITL p50/p90/p99 ms | E2E p50/p90/p99 ms | errors |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|---|");
        foreach (var l in levels)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {l.Level} | {l.Requests} | {l.RequestsPerSecond:F2} | {l.OutputTokensPerSecond:F1} | {l.OutputTokensPerSecond / levels[0].OutputTokensPerSecond:F2}x | {l.TtftP50:F0}/{l.TtftP90:F0}/{l.TtftP99:F0} | {l.ItlP50:F0}/{l.ItlP90:F0}/{l.ItlP99:F0} | {l.E2eP50:F0}/{l.E2eP90:F0}/{l.E2eP99:F0} | {(l.Errors.Count == 0 ? "0" : string.Join(", ", l.Errors.Select(e => $"{e.Key}: {e.Value}")))} |"));
        }
        if (levels.FirstOrDefault(l => l.Level == "1") is { } c1 && levels.FirstOrDefault(l => l.Level == "8") is { } c8)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"output tokens/s at concurrency 8 / concurrency 1: {c8.OutputTokensPerSecond / c1.OutputTokensPerSecond:F2}"));
        }
        double? overhead = null;
        if (a.Get("engine-dir", "") is { Length: > 0 } engineDir)
        {
            overhead = await HttpOverhead(client, engineDir, maxTokens.Max, a.Int("engine-max-model-len", 4096), a.Int("engine-threads", 0), a.Int("overhead-runs", 7), a.Int("engine-max-num-seqs", 8));
        }
        if (a.Get("out", "") is { Length: > 0 } outPath)
        {
            await File.WriteAllTextAsync(outPath, JsonSerializer.Serialize(new { url, model, prompt_tokens = promptTokens.ToString(), max_tokens = maxTokens.ToString(), http_overhead_ratio = overhead, levels }, new JsonSerializerOptions { WriteIndented = true }));
        }
        if (a.Get("chart", "") is { Length: > 0 } chartPath)
        {
            await File.WriteAllTextAsync(chartPath, SvgChart.Render(levels, $"{model}: load against concurrency ({maxTokens} output tokens per request)"));
        }
        return levels.Any(l => l.Errors.Count > 0) ? 1 : 0;
    }

    /// <summary>
    /// Tokens/s of one stream through HTTP against the engine in-process over the same model, alternating run by run so
    /// both see the same machine load; the ratio is best against best (the least disturbed run of each).
    /// </summary>
    private static async Task<double> HttpOverhead(StreamingClient client, string modelDir, int maxTokens, int maxModelLen, int threads, int runs, int maxNumSeqs)
    {
        // The same settings as a default server (one sequence running), so the decode step costs the same on both sides.
        await using var engine = InferenceEngine.CreateFromModelDirectory(modelDir, new EngineOptions { MaxNumSeqs = maxNumSeqs, MaxModelLen = maxModelLen, IntraOpThreads = threads });
        // The server fills what the request leaves out from generation_config.json (top_p, top_k, repetition_penalty):
        // drive the engine with the same sampling, so the two sides differ only by the HTTP layer.
        using var config = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(modelDir, "generation_config.json")));
        float Setting(string name, float fallback) => config.RootElement.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetSingle() : fallback;
        var sampling = new SamplingParams { Temperature = 0, TopP = Setting("top_p", 1), TopK = (int)Setting("top_k", 0), RepetitionPenalty = Setting("repetition_penalty", 1) };
        var overHttp = new List<double>();
        var direct = new List<double>();
        for (var i = 0; i < runs; i++)
        {
            var r = await client.RunAsync("Tell me about the sea.", maxTokens, CancellationToken.None);
            overHttp.Add(r.InterToken.Count / r.InterToken.Sum());
            var stamps = new List<long>();
            await foreach (var _ in engine.GenerateAsync(new GenerationRequest(Enumerable.Range(1000, 30).ToArray(), sampling, maxTokens, [])))
            {
                stamps.Add(Stopwatch.GetTimestamp());
            }
            direct.Add((stamps.Count - 1) / Stopwatch.GetElapsedTime(stamps[0], stamps[^1]).TotalSeconds);
        }
        var ratio = overHttp.Max() / direct.Max();
        static double Median(List<double> v) => v.Order().ElementAt(v.Count / 2);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"one stream ({maxTokens} tokens, decode rate after the first token), {runs} alternating runs each: over HTTP best {overHttp.Max():F1} / median {Median(overHttp):F1} tok/s, engine in-process best {direct.Max():F1} / median {Median(direct):F1} tok/s; ratio best/best {ratio:F3}, median/median {Median(overHttp) / Median(direct):F3} (the server must be otherwise idle)"));
        return ratio;
    }

    private static void Print(LevelSummary l, LevelSummary first)
        => Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"load {l.Level}: {l.Requests} requests, {l.OutputTokensPerSecond:F1} output tok/s ({l.OutputTokensPerSecond / first.OutputTokensPerSecond:F2}x), ITL p50 {l.ItlP50:F0} ms, TTFT p50 {l.TtftP50:F0} ms, errors {l.Errors.Values.Sum()}"));

    private static readonly string[] Vocabulary = ["the", "model", "server", "time", "stream", "water", "house", "light", "answer", "question", "weather", "city", "river", "mountain", "quickly", "because", "people", "world", "small", "number"];
}
