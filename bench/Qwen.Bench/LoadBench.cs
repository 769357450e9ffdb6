using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using Qwen.Bench.Load;
using Qwen.Inference.Engine;
using Qwen.Inference.Sampling;

namespace Qwen.Bench;

/// <summary>
/// Load generator for any OpenAI-compatible server:
/// `load --url http://127.0.0.1:8000 [--concurrency 1,2,4,8,16 | --rate R] [--requests N] [--prompt-words 32-96] [--max-tokens 64]
///  [--out results.json] [--chart chart.svg] [--api-key K] [--engine-dir DIR]`. With --engine-dir it also measures the HTTP
/// layer's cost: one stream through HTTP against the engine driven in-process over the same model directory.
/// </summary>
internal static class LoadBench
{
    public static async Task<int> RunAsync(string[] args)
    {
        var a = new BenchArgs(args);
        var url = a.Get("url", "http://127.0.0.1:8000").TrimEnd('/') + "/";
        var apiKey = a.Get("api-key", "") is { Length: > 0 } k ? k : null;
        var words = a.Get("prompt-words", "32-96").Split('-').Select(int.Parse).ToArray();
        var maxTokens = a.Int("max-tokens", 64);
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
        var random = new Random(7);
        string Prompt()
        {
            var n = random.Next(words[0], words[^1] + 1);
            return string.Join(' ', Enumerable.Range(0, n).Select(_ => Vocabulary[random.Next(Vocabulary.Length)]));
        }

        await client.RunAsync("warm up", 4, CancellationToken.None);
        var levels = new List<LevelSummary>();
        if (a.Get("rate", "") is { Length: > 0 } rateText)
        {
            var rate = double.Parse(rateText, System.Globalization.CultureInfo.InvariantCulture);
            var n = a.Int("requests", 32);
            var sw = Stopwatch.StartNew();
            var tasks = new List<Task<StreamResult>>();
            for (var i = 0; i < n; i++)
            {
                tasks.Add(client.RunAsync(Prompt(), maxTokens, CancellationToken.None));
                await Task.Delay(TimeSpan.FromSeconds(-Math.Log(1 - random.NextDouble()) / rate)); // Poisson arrivals
            }
            levels.Add(LevelSummary.From($"{rate}/s", await Task.WhenAll(tasks), sw.Elapsed.TotalSeconds));
        }
        else
        {
            foreach (var c in a.Get("concurrency", "1,2,4,8,16").Split(',').Select(int.Parse))
            {
                var n = a.Int("requests", Math.Max(8, 2 * c));
                var queue = new Queue<string>(Enumerable.Range(0, n).Select(_ => Prompt()));
                var results = new List<StreamResult>();
                var sw = Stopwatch.StartNew();
                await Task.WhenAll(Enumerable.Range(0, c).Select(async _ =>
                {
                    while (true)
                    {
                        string prompt;
                        lock (queue)
                        {
                            if (queue.Count == 0)
                            {
                                return;
                            }
                            prompt = queue.Dequeue();
                        }
                        var r = await client.RunAsync(prompt, maxTokens, CancellationToken.None);
                        lock (results)
                        {
                            results.Add(r);
                        }
                    }
                }));
                levels.Add(LevelSummary.From(c.ToString(System.Globalization.CultureInfo.InvariantCulture), results, sw.Elapsed.TotalSeconds));
                Print(levels[^1], levels[0]);
            }
        }

        Console.WriteLine("| concurrency | requests | req/s | output tok/s | vs 1 | TTFT p50/p90/p99 ms | ITL p50/p90/p99 ms | E2E p50/p90/p99 ms | errors |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|---|");
        foreach (var l in levels)
        {
            Console.WriteLine($"| {l.Level} | {l.Requests} | {l.RequestsPerSecond:F2} | {l.OutputTokensPerSecond:F1} | {l.OutputTokensPerSecond / levels[0].OutputTokensPerSecond:F2}x | {l.TtftP50:F0}/{l.TtftP90:F0}/{l.TtftP99:F0} | {l.ItlP50:F0}/{l.ItlP90:F0}/{l.ItlP99:F0} | {l.E2eP50:F0}/{l.E2eP90:F0}/{l.E2eP99:F0} | {(l.Errors.Count == 0 ? "0" : string.Join(", ", l.Errors.Select(e => $"{e.Key}: {e.Value}")))} |");
        }
        if (a.Get("out", "") is { Length: > 0 } outPath)
        {
            await File.WriteAllTextAsync(outPath, JsonSerializer.Serialize(new { url, model, max_tokens = maxTokens, levels }, new JsonSerializerOptions { WriteIndented = true }));
        }
        if (a.Get("chart", "") is { Length: > 0 } chartPath)
        {
            await File.WriteAllTextAsync(chartPath, SvgChart.Render(levels, $"{model}: load against concurrency ({maxTokens} output tokens per request)"));
        }
        if (a.Get("engine-dir", "") is { Length: > 0 } engineDir)
        {
            await HttpOverhead(client, engineDir, maxTokens);
        }
        return 0;
    }

    /// <summary>Tokens/s of one stream through HTTP against the engine in-process over the same model (run one after the other).</summary>
    private static async Task HttpOverhead(StreamingClient client, string modelDir, int maxTokens)
    {
        var overHttp = new List<double>();
        for (var i = 0; i < 3; i++)
        {
            var r = await client.RunAsync("Tell me about the sea.", maxTokens, CancellationToken.None);
            overHttp.Add(r.InterToken.Count / r.InterToken.Sum());
        }
        await using var engine = InferenceEngine.CreateFromModelDirectory(modelDir, new EngineOptions { MaxNumSeqs = 1, MaxModelLen = 1024 });
        var direct = new List<double>();
        for (var i = 0; i < 3; i++)
        {
            var stamps = new List<long>();
            await foreach (var _ in engine.GenerateAsync(new GenerationRequest(Enumerable.Range(1000, 30).ToArray(), new SamplingParams(), maxTokens, [])))
            {
                stamps.Add(Stopwatch.GetTimestamp());
            }
            direct.Add((stamps.Count - 1) / Stopwatch.GetElapsedTime(stamps[0], stamps[^1]).TotalSeconds);
        }
        Console.WriteLine($"one stream: over HTTP {overHttp.Max():F1} tok/s, engine in-process {direct.Max():F1} tok/s, ratio {overHttp.Max() / direct.Max():F3} (best of 3 each; the server must be otherwise idle)");
    }

    private static void Print(LevelSummary l, LevelSummary first)
        => Console.Error.WriteLine($"concurrency {l.Level}: {l.OutputTokensPerSecond:F1} output tok/s ({l.OutputTokensPerSecond / first.OutputTokensPerSecond:F2}x), ITL p50 {l.ItlP50:F0} ms, TTFT p50 {l.TtftP50:F0} ms, errors {l.Errors.Values.Sum()}");

    private static readonly string[] Vocabulary = ["the", "model", "server", "token", "stream", "batch", "cache", "request", "answer", "question", "weather", "city", "river", "mountain", "quickly", "slowly", "because", "although", "数据", "模型", "推理", "服务"];
}
