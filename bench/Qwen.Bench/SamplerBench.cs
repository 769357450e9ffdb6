using System.Diagnostics;
using Qwen.Inference.Sampling;

namespace Qwen.Bench;

/// <summary>
/// Sampler cost per token on a full Qwen2.5 vocabulary: `sampler [--vocab 151936] [--iterations 2000] [--prompt 1000] [--k 64]`.
/// Prints µs per sampled token for greedy, for Qwen2.5's generation_config defaults (temperature 0.7, top_p 0.8, top_k 20,
/// repetition_penalty 1.05) with and without 5 top logprobs, and for top_p 0.9 over the whole vocabulary. The logits are
/// copied fresh before every call (the penalties change them in place); that copy is measured alone and subtracted. Then
/// greedy and the defaults again from the row's top-k candidates (what the candidates graph gives; computed once here),
/// with how many calls still needed the full row. Each figure is the median of 10 rounds, with the best round.
/// </summary>
internal static class SamplerBench
{
    public static Task<int> RunAsync(string[] args)
    {
        var a = new BenchArgs(args);
        var vocab = a.Int("vocab", 151_936);
        var iterations = a.Int("iterations", 2000);
        var promptLength = a.Int("prompt", 1000);
        var k = a.Int("k", 64);
        var random = new Random(1);
        // Logits shaped like a language model's: a Gaussian bulk with a heavier head.
        var logits = Enumerable.Range(0, vocab).Select(_ => (float)(Statistics.Gaussian(random) * 2.5)).ToArray();
        for (var i = 0; i < 50; i++)
        {
            logits[random.Next(vocab)] += 8 + (float)random.NextDouble() * 6;
        }
        var prompt = Enumerable.Range(0, promptLength).Select(_ => random.Next(vocab)).ToArray();
        var work = new float[vocab];
        var copy = Time(iterations, () => logits.CopyTo(work, 0));
        Console.WriteLine($"sampler over {vocab} logits, {promptLength}-token prompt, {iterations} tokens each; copying the row alone {copy.Median:F1} µs (subtracted)");

        var cases = new (string Name, SamplingParams Params)[]
        {
            ("greedy", new SamplingParams()),
            ("qwen defaults (t 0.7, top_p 0.8, top_k 20, rep 1.05)", new SamplingParams { Temperature = 0.7f, TopP = 0.8f, TopK = 20, RepetitionPenalty = 1.05f, Seed = 1 }),
            ("qwen defaults + 5 top logprobs", new SamplingParams { Temperature = 0.7f, TopP = 0.8f, TopK = 20, RepetitionPenalty = 1.05f, TopLogprobs = 5, Seed = 1 }),
            ("temperature 1, top_p 0.9 over the whole vocabulary", new SamplingParams { Temperature = 1f, TopP = 0.9f, Seed = 1 }),
        };
        var sampler = new Sampler(vocab);
        foreach (var (name, p) in cases)
        {
            var state = new SamplingState(p, prompt, vocab);
            var us = Time(iterations, () =>
            {
                logits.CopyTo(work, 0);
                sampler.Sample(work, state);
            });
            Console.WriteLine($"{name}: {us.Median - copy.Median:F1} µs per token (best round {us.Best - copy.Best:F1})");
        }

        // The candidates graph's output for this row: the k best (value descending, then id), and the row's log-sum-exp.
        var ids = Enumerable.Range(0, vocab).OrderByDescending(i => logits[i]).ThenBy(i => i).Take(k).ToArray();
        var values = ids.Select(i => logits[i]).ToArray();
        var max = (double)logits.Max();
        var logSumExp = (float)(max + Math.Log(logits.Sum(x => Math.Exp(x - max))));
        foreach (var (name, p) in cases[..2])
        {
            var state = new SamplingState(p, prompt, vocab);
            var calls = 0;
            var fullRows = 0;
            var us = Time(iterations, () =>
            {
                calls++;
                if (sampler.TrySampleCandidates(new CandidateRow(values, ids, logSumExp), state, null, 0, out _) == CandidateOutcome.NeedsFullRow)
                {
                    fullRows++;
                }
            });
            Console.WriteLine($"{name}, from {k} candidates: {us.Median:F2} µs per token (best round {us.Best:F2}); {fullRows} of {calls} calls needed the full row");
        }
        return Task.FromResult(0);
    }

    /// <summary>Median and best µs per call over 10 rounds (the median is robust to a busy machine's pauses).</summary>
    private static (double Median, double Best) Time(int iterations, Action step)
    {
        // Warm up past tiered JIT: 200 calls alone left a microsecond-sized step at tier 0 (5 µs instead of 1 measured here).
        var warm = Stopwatch.GetTimestamp();
        for (var i = 0; i < Math.Min(200, iterations) || Stopwatch.GetElapsedTime(warm).TotalMilliseconds < 500; i++)
        {
            step();
        }
        var rounds = new double[10];
        var perRound = Math.Max(1, iterations / rounds.Length);
        for (var r = 0; r < rounds.Length; r++)
        {
            var start = Stopwatch.GetTimestamp();
            for (var i = 0; i < perRound; i++)
            {
                step();
            }
            rounds[r] = Stopwatch.GetElapsedTime(start).TotalMicroseconds / perRound;
        }
        Array.Sort(rounds);
        return (Median: (rounds[4] + rounds[5]) / 2, Best: rounds[0]);
    }

}
