using Qwen.Inference.Engine;
using Qwen.Inference.Sampling;
using static Qwen.Inference.Tests.Engine.EngineBatchingTests;

namespace Qwen.Inference.Tests.Engine;

/// <summary>
/// Prefix caching and slot compaction with the real tiny ONNX model, checked against the same requests served one at a
/// time with prefix caching off: equal greedy tokens, and logprobs (of the chosen token and the top 3) within 1e-4.
/// </summary>
public sealed class EnginePrefixCacheTests
{
    private const double Tolerance = 1e-4;

    private static readonly EngineOptions Options = new() { MaxNumSeqs = 3, MaxModelLen = 160, MaxWaiting = 64, PrefillChunkSize = 7, IntraOpThreads = 1 };

    private sealed record Case(int[] Prompt, int MaxTokens, int Choices);

    [Theory]
    [InlineData(1, 3, false)]
    [InlineData(2, 2, false)]
    [InlineData(3, 4, false)]
    [InlineData(4, 2, true)]
    public async Task RandomArrivals_SameTokensAndLogprobsAsAloneWithoutTheCache(int seed, int slots, bool copyInputsAtBind)
    {
        // Few slots under many overlapping prompts (shared stems, repeats, n > 1, an agent's next turns) keep every free slot
        // contended: contents are reused in place, copied from running sequences, swapped down and evicted throughout.
        var random = new Random(seed);
        var stems = Enumerable.Range(0, 3).Select(i => Prompt((seed * 10) + i, random.Next(20, 50))).ToArray();
        var first = Enumerable.Range(0, 10).Select(_ => new Case(
            random.Next(3) == 0 ? stems[random.Next(3)] : [.. stems[random.Next(3)].Take(random.Next(5, 50)), .. Prompt(random.Next(), random.Next(1, 15))],
            random.Next(2, 16),
            random.Next(4) == 0 ? 3 : 1)).ToList();
        var alone = await Alone(first);
        // Next turns: a finished conversation, what the model answered, then a new message.
        var next = Enumerable.Range(0, 6).Select(_ => random.Next(first.Count)).Select(i => new Case(
            [.. first[i].Prompt, .. alone[i].Select(t => t.TokenId), .. Prompt(random.Next(), random.Next(2, 10))],
            random.Next(2, 12),
            1)).ToList();
        var cases = first.Concat(next).ToList();
        alone.AddRange(await Alone(next));

        await using var engine = InferenceEngine.Load(TinyModel, Options with { MaxNumSeqs = slots, CopyInputsAtBind = copyInputsAtBind });
        var runs = cases.Select(async (c, i) =>
        {
            await Task.Delay(random.Next(0, 60) + (i >= first.Count ? 150 : 0));
            var group = new object();
            return await Task.WhenAll(Enumerable.Range(0, c.Choices).Select(_ => Run(engine, c, group)));
        }).ToList();
        var results = await Task.WhenAll(runs);
        for (var i = 0; i < cases.Count; i++)
        {
            foreach (var (tokens, _) in results[i])
            {
                AssertSame(alone[i], tokens, $"case {i}");
            }
        }
        var stats = engine.GetStats().PrefixCache;
        Assert.True(stats.HitTokens > 0, "no prompt token came from the cache: the test proved nothing");
        Assert.Equal(cases.Sum(c => c.Choices), stats.Lookups);
        Assert.Equal(results.SelectMany(r => r).Sum(r => (long)r.Cached), stats.HitTokens);
    }

    [Fact]
    public async Task ChoicesOfOneRequest_OnePrefillOfThePrompt()
    {
        await using var engine = InferenceEngine.Load(TinyModel, Options with { MaxNumSeqs = 4 });
        var c = new Case(Prompt(7, 60), 5, 4);
        var alone = (await Alone([c]))[0];
        var group = new object();
        var results = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Run(engine, c, group)));
        Assert.Equal([0, 59, 59, 59], results.Select(r => r.Cached).Order());
        Assert.All(results, r => AssertSame(alone, r.Tokens, "choice"));
    }

    private static async Task<(GeneratedToken[] Tokens, int Cached)> Run(InferenceEngine engine, Case c, object group)
    {
        var stream = engine.GenerateAsync(Request(c) with { Group = group });
        var list = new List<GeneratedToken>();
        await foreach (var t in stream)
        {
            list.Add(t);
        }
        return ([.. list], stream.CachedTokens);
    }

    private static GenerationRequest Request(Case c) => Greedy(c.Prompt, c.MaxTokens) with { Sampling = new SamplingParams { TopLogprobs = 3 } };

    /// <summary>The reference: each request alone, prefix caching off (so every prompt is prefilled from token 0).</summary>
    private static async Task<List<GeneratedToken[]>> Alone(List<Case> cases)
    {
        await using var engine = InferenceEngine.Load(TinyModel, Options with { PrefixCaching = false });
        var list = new List<GeneratedToken[]>();
        foreach (var c in cases)
        {
            list.Add(await CollectTokens(engine, Request(c)));
        }
        return list;
    }

    private static void AssertSame(GeneratedToken[] expected, GeneratedToken[] actual, string what)
    {
        Assert.Equal(expected.Select(t => t.TokenId), actual.Select(t => t.TokenId));
        for (var j = 0; j < expected.Length; j++)
        {
            Assert.True(Math.Abs(expected[j].Logprob!.Value - actual[j].Logprob!.Value) <= Tolerance, $"{what}, token {j}: logprob {actual[j].Logprob} against {expected[j].Logprob}");
            var top = expected[j].TopLogprobs!;
            Assert.Equal(top.Select(t => t.TokenId), actual[j].TopLogprobs!.Select(t => t.TokenId));
            for (var k = 0; k < top.Count; k++)
            {
                Assert.True(Math.Abs(top[k].Logprob - actual[j].TopLogprobs![k].Logprob) <= Tolerance, $"{what}, token {j}, alternative {k}");
            }
        }
    }
}
