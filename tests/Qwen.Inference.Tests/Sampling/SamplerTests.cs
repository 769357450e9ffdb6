using Qwen.Inference.Sampling;

namespace Qwen.Inference.Tests.Sampling;

/// <summary>Each sampler transformation against hand-computed expectations, and draw frequencies against the distribution.</summary>
public sealed class SamplerTests
{
    private static SampledToken Sample(float[] logits, SamplingParams p, int[]? prompt = null, int[]? history = null)
    {
        var state = new SamplingState(p, prompt ?? [], logits.Length);
        foreach (var t in history ?? [])
        {
            state.Record(t);
        }
        return new Sampler(logits.Length).Sample(logits, state);
    }

    [Fact]
    public void Greedy_PicksArgmax_TiesLowestId()
    {
        Assert.Equal(2, Sample([1f, 3f, 5f, 5f, -1f], new SamplingParams()).TokenId);
    }

    [Fact]
    public void LogitBias_MovesTheArgmax()
    {
        Assert.Equal(0, Sample([1f, 3f, 2f], new SamplingParams { LogitBias = new Dictionary<int, float> { [0] = 2.5f } }).TokenId);
    }

    [Fact]
    public void RepetitionPenalty_DividesPositiveAndMultipliesNegativeLogits()
    {
        // Hand-computed: token 0 (seen, 4.0) -> 4/2 = 2.0 < token 1 (3.0); token 2 (seen, -1) -> -2 stays below token 3 (-1.5).
        var logits = new float[] { 4f, 3f, -1f, -1.5f };
        var state = new SamplingState(new SamplingParams { RepetitionPenalty = 2f }, [0, 2], 4);
        var token = new Sampler(4).Sample(logits, state);
        Assert.Equal(1, token.TokenId);
        Assert.Equal([2f, 3f, -2f, -1.5f], logits);
    }

    [Fact]
    public void PresenceAndFrequency_SubtractPerOutputCount()
    {
        // token 0 generated twice: 5 - (0.5 + 2*1.0) = 2.5 ; token 1 once: 4 - (0.5 + 1.0) = 2.5 ; token 2 never: 3.
        var logits = new float[] { 5f, 4f, 3f };
        var result = Sample(logits, new SamplingParams { PresencePenalty = 0.5f, FrequencyPenalty = 1f }, history: [0, 0, 1]);
        Assert.Equal(2, result.TokenId);
        Assert.Equal([2.5f, 2.5f, 3f], logits);
    }

    [Fact]
    public void Logprobs_AreLogSoftmaxOfPenalisedLogits_TopSortedBestFirst()
    {
        var result = Sample([0f, 1f, 2f], new SamplingParams { TopLogprobs = 2 });
        var z = Math.Log(1 + Math.E + (Math.E * Math.E));
        Assert.Equal(2, result.TokenId);
        Assert.Equal(2 - z, result.Logprob!.Value, 5);
        Assert.Equal([2, 1], result.TopLogprobs!.Select(t => t.TokenId));
        Assert.Equal(1 - z, result.TopLogprobs![1].Logprob, 5);
    }

    public static TheoryData<string, SamplingParams, double[]> Distributions => new()
    {
        // Expected probabilities computed by hand from logits ln(p) = [ln .1, ln .2, ln .3, ln .4].
        { "plain", new SamplingParams { Temperature = 1f }, [0.1, 0.2, 0.3, 0.4] },
        { "temperature 0.5 squares the odds", new SamplingParams { Temperature = 0.5f }, [0.01 / 0.30, 0.04 / 0.30, 0.09 / 0.30, 0.16 / 0.30] },
        { "top_k 2", new SamplingParams { Temperature = 1f, TopK = 2 }, [0, 0, 3 / 7.0, 4 / 7.0] },
        { "top_p 0.6 keeps .4 and .3", new SamplingParams { Temperature = 1f, TopP = 0.6f }, [0, 0, 3 / 7.0, 4 / 7.0] },
        { "top_p 0.75 keeps three", new SamplingParams { Temperature = 1f, TopP = 0.75f }, [0, 2 / 9.0, 3 / 9.0, 4 / 9.0] },
        { "min_p 0.6 keeps p >= .24", new SamplingParams { Temperature = 1f, MinP = 0.6f }, [0, 0, 3 / 7.0, 4 / 7.0] },
    };

    [Theory]
    [MemberData(nameof(Distributions))]
    public void Draws_FrequenciesMatchTheExpectedDistribution_ChiSquare(string name, SamplingParams p, double[] expected)
    {
        float[] logits = [MathF.Log(0.1f), MathF.Log(0.2f), MathF.Log(0.3f), MathF.Log(0.4f)];
        const int draws = 20_000;
        var counts = new int[4];
        var sampler = new Sampler(4);
        var state = new SamplingState(p with { Seed = 12345 }, [], 4);
        for (var i = 0; i < draws; i++)
        {
            counts[sampler.Sample((float[])logits.Clone(), state).TokenId]++;
        }
        var chi = 0.0;
        var df = -1;
        for (var i = 0; i < 4; i++)
        {
            if (expected[i] == 0)
            {
                Assert.True(counts[i] == 0, $"{name}: token {i} is outside the kept set but was drawn {counts[i]} times");
                continue;
            }
            var e = expected[i] * draws;
            chi += (counts[i] - e) * (counts[i] - e) / e;
            df++;
        }
        // 0.999 quantiles of chi-square (table): df 1: 10.83, 2: 13.82, 3: 16.27.
        double[] critical = [0, 10.83, 13.82, 16.27];
        Assert.True(chi < critical[df], $"{name}: chi-square {chi:F2} >= {critical[df]} (df {df}); counts {string.Join(",", counts)}");
    }

    [Fact]
    public void Seed_SameSeedSameStream_IndependentOfInterleavedStates()
    {
        float[] logits = [0f, 0.1f, 0.2f, 0.3f, 0.4f, 0.5f];
        var sampler = new Sampler(6);
        var p = new SamplingParams { Temperature = 1f, Seed = 99 };
        var alone = new SamplingState(p, [], 6);
        var expected = Enumerable.Range(0, 50).Select(_ => sampler.Sample((float[])logits.Clone(), alone).TokenId).ToList();

        var a = new SamplingState(p, [], 6);
        var other = new SamplingState(p with { Seed = 5 }, [], 6);
        var interleaved = new List<int>();
        for (var i = 0; i < 50; i++)
        {
            interleaved.Add(sampler.Sample((float[])logits.Clone(), a).TokenId);
            sampler.Sample((float[])logits.Clone(), other);
        }
        Assert.Equal(expected, interleaved);
        var different = new SamplingState(p with { Seed = 100 }, [], 6);
        Assert.NotEqual(expected, Enumerable.Range(0, 50).Select(_ => sampler.Sample((float[])logits.Clone(), different).TokenId).ToList());
    }

    [Fact]
    public void Sample_FullVocabulary_AllocatesNoVocabularySizedArrays()
    {
        const int vocab = 151_936;
        var random = new Random(3);
        var logits = Enumerable.Range(0, vocab).Select(_ => (float)(random.NextDouble() * 10)).ToArray();
        var work = new float[vocab];
        var sampler = new Sampler(vocab);
        var state = new SamplingState(new SamplingParams { Temperature = 0.7f, TopK = 20, TopP = 0.8f, RepetitionPenalty = 1.05f, TopLogprobs = 5, Seed = 1 }, [1, 2, 3], vocab);
        logits.CopyTo(work, 0);
        sampler.Sample(work, state); // warm up
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 200; i++)
        {
            logits.CopyTo(work, 0);
            sampler.Sample(work, state);
        }
        var perCall = (GC.GetAllocatedBytesForCurrentThread() - before) / 200.0;
        Assert.True(perCall < vocab, $"{perCall:F0} bytes allocated per call (one vocabulary of floats is {vocab * 4})");
    }

    [Theory]
    [InlineData(-0.1f, 1f, 0)]
    [InlineData(1f, 0f, 0)]
    [InlineData(1f, 1.5f, 0)]
    [InlineData(1f, 1f, -1)]
    public void State_OutOfRangeParameters_Throw(float temperature, float topP, int topK)
        => Assert.Throws<ArgumentOutOfRangeException>(() => new SamplingState(new SamplingParams { Temperature = temperature, TopP = topP, TopK = topK }, [], 10));
}
