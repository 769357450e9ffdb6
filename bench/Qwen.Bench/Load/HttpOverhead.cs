using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Qwen.Inference.Engine;
using Qwen.Inference.Sampling;

namespace Qwen.Bench.Load;

/// <summary>
/// What the HTTP layer costs: decode tokens/s of one stream through the server against the engine driven in-process
/// over the same model directory, in alternating runs so both sides see the same machine load. The server must be
/// otherwise idle. Ratios are HTTP over in-process, median against median and best against best.
/// </summary>
internal sealed record HttpOverhead(int Runs, int MaxTokens, IReadOnlyList<double> HttpTokensPerSecond, IReadOnlyList<double> EngineTokensPerSecond,
    double HttpMedian, double HttpBest, double EngineMedian, double EngineBest, double RatioMedian, double RatioBest)
{
    public static async Task<HttpOverhead> MeasureAsync(StreamingClient client, string modelDir, int maxTokens, int maxModelLen, int threads, int runs, int maxNumSeqs)
    {
        ArgumentNullException.ThrowIfNull(client);
        // The same settings as a default server (one sequence running), so the decode step costs the same on both sides.
        await using var engine = InferenceEngine.Load(modelDir, new EngineOptions { MaxNumSeqs = maxNumSeqs, MaxModelLen = maxModelLen, IntraOpThreads = threads });
        // The server fills what the request leaves out from generation_config.json (top_p, top_k, repetition_penalty):
        // drive the engine with the same sampling, so the two sides differ only by the HTTP layer.
        using var config = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(modelDir, "generation_config.json")));
        float Setting(string name, float fallback) => config.RootElement.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetSingle() : fallback;
        var sampling = new SamplingParams { Temperature = 0, TopP = Setting("top_p", 1), TopK = (int)Setting("top_k", 0), RepetitionPenalty = Setting("repetition_penalty", 1) };
        var overHttp = new List<double>();
        var direct = new List<double>();
        for (var i = 0; i < runs; i++)
        {
            // Decode rate after the first token on both sides: prefill and connection set-up are not the HTTP layer's per-token cost.
            var r = await client.RunAsync("Tell me about the sea.", maxTokens, CancellationToken.None);
            if (r.Error is not null || r.InterToken.Count == 0)
            {
                throw new InvalidOperationException($"the HTTP run failed ({r.Error ?? "no tokens"})");
            }
            overHttp.Add(r.InterToken.Count / r.InterToken.Sum());
            var stamps = new List<long>();
            await foreach (var _ in engine.GenerateAsync(new GenerationRequest(Enumerable.Range(1000, 30).ToArray(), sampling, maxTokens, [])))
            {
                stamps.Add(Stopwatch.GetTimestamp());
            }
            direct.Add((stamps.Count - 1) / Stopwatch.GetElapsedTime(stamps[0], stamps[^1]).TotalSeconds);
        }
        return new HttpOverhead(runs, maxTokens, overHttp, direct, Statistics.Median(overHttp), overHttp.Max(), Statistics.Median(direct), direct.Max(),
            Statistics.Median(overHttp) / Statistics.Median(direct), overHttp.Max() / direct.Max());
    }

    public override string ToString()
        => string.Create(CultureInfo.InvariantCulture, $"one stream ({MaxTokens} tokens, decode rate after the first token), {Runs} alternating runs each: over HTTP median {HttpMedian:F1} / best {HttpBest:F1} tok/s, engine in-process median {EngineMedian:F1} / best {EngineBest:F1} tok/s; HTTP/in-process ratio median {RatioMedian:F3}, best {RatioBest:F3} (the server must be otherwise idle)");
}
