using Qwen.Inference.Sampling;

namespace Qwen.Inference.Tests.Sampling;

/// <summary>Each sampler transformation against hand-computed expectations, and draw frequencies against the distribution.</summary>
public sealed class SamplerTests
{
    // 0.999 quantiles of chi-square (table), by degrees of freedom 1..20.
    private static readonly double[] Critical = [0, 10.83, 13.82, 16.27, 18.47, 20.52, 22.46, 24.32, 26.12, 27.88, 29.59, 31.26, 32.91, 34.53, 36.12, 37.70, 39.25, 40.79, 42.31, 43.82, 45.31];

    private static readonly float[] Quarter = [MathF.Log(0.1f), MathF.Log(0.2f), MathF.Log(0.3f), MathF.Log(0.4f)];

    private static SampledToken Sample(float[] logits, SamplingParams p, int[]? prompt = null, int[]? history = null)
    {
        var state = new SamplingState(p, prompt ?? [], logits.Length);
        foreach (var t in history ?? [])
        {
            state.Record(t);
        }
        return new Sampler(logits.Length).Sample(logits, state);
    }

    /// <summary>Draws <paramref name="draws"/> tokens (fresh copies of the logits each time) and checks their frequencies by chi-square.</summary>
    private static void AssertDistribution(string name, float[] logits, SamplingParams p, IReadOnlyDictionary<int, double> expected, int draws = 20_000, ITokenConstraint? constraint = null)
    {
        var counts = new Dictionary<int, int>();
        var sampler = new Sampler(logits.Length);
        var state = new SamplingState(p with { Seed = 12345 }, [], logits.Length);
        var work = new float[logits.Length];
        for (var i = 0; i < draws; i++)
        {
            logits.CopyTo(work, 0);
            Assert.True(sampler.TrySample(work, state, constraint, 0, out var token));
            counts[token.TokenId] = counts.GetValueOrDefault(token.TokenId) + 1;
        }
        foreach (var (id, count) in counts)
        {
            Assert.True(expected.GetValueOrDefault(id) > 0, $"{name}: token {id} is outside the kept set but was drawn {count} times");
        }
        var kept = expected.Where(e => e.Value > 0).ToList();
        if (kept.Count == 1)
        {
            Assert.Equal(draws, counts.GetValueOrDefault(kept[0].Key));
            return;
        }
        var chi = kept.Sum(e => Math.Pow(counts.GetValueOrDefault(e.Key) - (e.Value * draws), 2) / (e.Value * draws));
        var df = kept.Count - 1;
        Assert.True(chi < Critical[df], $"{name}: chi-square {chi:F2} >= {Critical[df]} (df {df}); counts {string.Join(",", counts.OrderBy(c => c.Key))}");
    }

    private static Dictionary<int, double> Dense(params double[] p)
        => p.Select((v, i) => (v, i)).Where(x => x.v > 0).ToDictionary(x => x.i, x => x.v);

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
        var state = new SamplingState(new SamplingParams { RepetitionPenalty = 2f }, [0, 2, 2, 0], 4);
        var token = new Sampler(4).Sample(logits, state);
        Assert.Equal(1, token.TokenId);
        Assert.Equal([2f, 3f, -2f, -1.5f], logits); // a token repeated in the prompt is penalised once (HF gathers by id)
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

    [Fact]
    public void Logprobs_TakenBeforeTemperatureAndTopK()
    {
        // Temperature 0.5 and top_k 1 force token 2; its logprob stays log softmax([0, 1, 2])[2], not 0.
        var result = Sample([0f, 1f, 2f], new SamplingParams { Temperature = 0.5f, TopK = 1, TopLogprobs = 3, Seed = 1 });
        var z = Math.Log(1 + Math.E + (Math.E * Math.E));
        Assert.Equal(2, result.TokenId);
        Assert.Equal(2 - z, result.Logprob!.Value, 5);
        Assert.Equal([2, 1, 0], result.TopLogprobs!.Select(t => t.TokenId));
        Assert.Equal(-z, result.TopLogprobs![2].Logprob, 5);
    }

    public static TheoryData<string, float[], SamplingParams, double[]> Distributions => new()
    {
        // Expected probabilities computed by hand from logits ln(p) = [ln .1, ln .2, ln .3, ln .4] unless given.
        { "plain", Quarter, new SamplingParams { Temperature = 1f }, [0.1, 0.2, 0.3, 0.4] },
        { "temperature 0.5 squares the odds", Quarter, new SamplingParams { Temperature = 0.5f }, [0.01 / 0.30, 0.04 / 0.30, 0.09 / 0.30, 0.16 / 0.30] },
        { "top_k 2", Quarter, new SamplingParams { Temperature = 1f, TopK = 2 }, [0, 0, 3 / 7.0, 4 / 7.0] },
        { "top_p 0.6 keeps .4 and .3", Quarter, new SamplingParams { Temperature = 1f, TopP = 0.6f }, [0, 0, 3 / 7.0, 4 / 7.0] },
        { "top_p 0.75 keeps three", Quarter, new SamplingParams { Temperature = 1f, TopP = 0.75f }, [0, 2 / 9.0, 3 / 9.0, 4 / 9.0] },
        { "min_p 0.6 keeps p >= .24", Quarter, new SamplingParams { Temperature = 1f, MinP = 0.6f }, [0, 0, 3 / 7.0, 4 / 7.0] },
        // min_p alone with ratios far below e^-1: exp([0, -1.5, -2.3, -5]) = [1, .2231, .1003, .0067]; min_p .05 keeps three.
        { "min_p 0.05 keeps ratios down to .10", [0f, -1.5f, -2.3f, -5f], new SamplingParams { Temperature = 1f, MinP = 0.05f }, [1 / 1.3234, 0.2231 / 1.3234, 0.1003 / 1.3234, 0] },
        { "min_p 0.2 drops the ratio .10", [0f, -1.5f, -2.3f, -5f], new SamplingParams { Temperature = 1f, MinP = 0.2f }, [1 / 1.2231, 0.2231 / 1.2231, 0, 0] },
        // Order checks (HF: temperature -> top_k -> top_p -> min_p).
        // Temperature first: squared odds .033 .133 .3 .533 -> top_p .75 keeps two (top_p before temperature would keep three).
        { "temperature 0.5 then top_p 0.75", Quarter, new SamplingParams { Temperature = 0.5f, TopP = 0.75f }, [0, 0, 0.09 / 0.25, 0.16 / 0.25] },
        // top_p over the renormalised top_k: .222 .333 .444 -> .75 keeps two (over the full mass .4 .7 .9 it would keep three).
        { "top_k 3 then top_p 0.75", Quarter, new SamplingParams { Temperature = 1f, TopK = 3, TopP = 0.75f }, [0, 0, 3 / 7.0, 4 / 7.0] },
        // top_p .75 keeps .4 .3 .2, then min_p .3 (floor .12) keeps all three; min_p first (drop .1, renormalise) would leave two.
        { "top_p 0.75 then min_p 0.3", Quarter, new SamplingParams { Temperature = 1f, TopP = 0.75f, MinP = 0.3f }, [0, 2 / 9.0, 3 / 9.0, 4 / 9.0] },
        { "top_k 3, top_p 0.9, min_p 0.6", Quarter, new SamplingParams { Temperature = 1f, TopK = 3, TopP = 0.9f, MinP = 0.6f }, [0, 0, 3 / 7.0, 4 / 7.0] },
    };

    [Theory]
    [MemberData(nameof(Distributions))]
    public void Draws_FrequenciesMatchTheExpectedDistribution_ChiSquare(string name, float[] logits, SamplingParams p, double[] expected)
        => AssertDistribution(name, logits, p, Dense(expected));

    [Fact]
    public void MinP_LargeVocabulary_KeepsExactlyTheTokensAboveTheFloor()
    {
        // The probe of the audit, spread over a vocabulary where everything else is far below: ids 3, 517 (inside a
        // vector) and 998 (in the scalar tail) carry the ratios .2231, .1003 and .0067 to the top token 100.
        var logits = Enumerable.Repeat(-30f, 999).ToArray();
        logits[100] = 0f;
        logits[3] = -1.5f;
        logits[517] = -2.3f;
        logits[998] = -5f;
        AssertDistribution("min_p 0.05", logits, new SamplingParams { Temperature = 1f, MinP = 0.05f }, new Dictionary<int, double> { [100] = 1 / 1.3234, [3] = 0.2231 / 1.3234, [517] = 0.1003 / 1.3234 });
    }

    [Fact]
    public void QwenDefaults_FullVocabulary_MatchANaiveReference_ChiSquare()
    {
        // Qwen2.5's generation_config: temperature .7, top_p .8, top_k 20, repetition_penalty 1.05; the reference below sorts
        // the whole vocabulary in plain double arithmetic.
        const int vocab = 151_936;
        var random = new Random(11);
        var logits = Enumerable.Range(0, vocab).Select(_ => (float)(random.NextDouble() * 4)).ToArray();
        var best = Enumerable.Range(0, vocab).OrderByDescending(i => logits[i]).Take(40).ToArray();
        for (var i = 0; i < best.Length; i++)
        {
            logits[best[i]] = 10f - (0.25f * i); // a clear head: the top 20 span 5 logits
        }
        int[] prompt = [best[0], best[3], 12345];
        var p = new SamplingParams { Temperature = 0.7f, TopP = 0.8f, TopK = 20, RepetitionPenalty = 1.05f };

        var penalised = logits.Select(x => (double)x).ToArray();
        foreach (var id in prompt.Distinct())
        {
            penalised[id] = penalised[id] > 0 ? penalised[id] / 1.05 : penalised[id] * 1.05;
        }
        var top = Enumerable.Range(0, vocab).OrderByDescending(i => penalised[i]).ThenBy(i => i).Take(20).ToArray();
        var weights = top.Select(i => Math.Exp((penalised[i] - penalised[top[0]]) / 0.7)).ToArray();
        var total = weights.Sum();
        var kept = 0;
        for (var cumulative = 0.0; kept < 20 && cumulative < 0.8 * total; kept++)
        {
            cumulative += weights[kept];
        }
        var keptMass = weights.Take(kept).Sum();
        var expected = Enumerable.Range(0, kept).ToDictionary(i => top[i], i => weights[i] / keptMass);
        Assert.InRange(kept, 3, 12); // the case exercises a real cut

        var counts = new Dictionary<int, int>();
        var sampler = new Sampler(vocab);
        var work = new float[vocab];
        const int draws = 6000;
        for (var i = 0; i < draws; i++)
        {
            // A fresh state per draw: the repetition penalty would otherwise also penalise the tokens drawn so far.
            logits.CopyTo(work, 0);
            var token = sampler.Sample(work, new SamplingState(p with { Seed = (ulong)i }, prompt, vocab)).TokenId;
            counts[token] = counts.GetValueOrDefault(token) + 1;
        }
        Assert.All(counts.Keys, id => Assert.True(expected.ContainsKey(id), $"token {id} is outside the reference's kept set"));
        var chi = expected.Sum(e => Math.Pow(counts.GetValueOrDefault(e.Key) - (e.Value * draws), 2) / (e.Value * draws));
        Assert.True(chi < Critical[kept - 1], $"chi-square {chi:F2} >= {Critical[kept - 1]} (df {kept - 1})");
    }

    [Theory]
    [InlineData(151_936, 20, 1)]
    [InlineData(151_936, 1, 2)]
    [InlineData(151_936, 300, 3)]
    [InlineData(151_936, 5000, 4)]
    [InlineData(1000, 20, 5)]
    [InlineData(37, 40, 6)]
    public void SelectTop_RandomRowsWithTiesAndMasked_MatchesAFullSort(int vocab, int k, int seed)
    {
        var random = new Random(seed);
        // Rounded values make ties; a third of the row masked to -inf, which must never be selected.
        var x = Enumerable.Range(0, vocab).Select(_ => random.Next(3) == 0 ? float.NegativeInfinity : MathF.Round((float)(random.NextDouble() * 50), 1)).ToArray();
        var expected = Enumerable.Range(0, vocab).Where(i => x[i] > float.NegativeInfinity).OrderByDescending(i => x[i]).ThenBy(i => i).Take(k).ToArray();
        var sampler = new Sampler(vocab);
        var count = sampler.SelectTop(x, k);
        Assert.Equal(expected, Enumerable.Range(0, count).Select(sampler.SelectedId));
    }

    [Fact]
    public void DrawFrom_RoundingPastTheTotal_FallsBackToTheLastTokenWithProbability()
    {
        // Hand-computed: float sum 0.1f + 0.2f rounds up to 0.3000000119, the double walk reaches 0.3000000045, so a draw
        // of u = 0.99999999 lands past the walk. The fallback must be token 1, not the zero-probability token 2.
        var sampler = new Sampler(3);
        Assert.Equal(1, sampler.DrawFrom([0.1f, 0.2f, 0f], 0.99999999));
        Assert.Equal(0, sampler.DrawFrom([0.1f, 0.2f, 0f], 0.1));
    }

    [Fact]
    public void DrawFrom_LongRow_BlockWalkPicksTheRightIndex()
    {
        // 5000 weights of 1 except index 3210 with 1000: u picks by hand-computed cumulative mass (total 5999).
        var w = Enumerable.Repeat(1f, 5000).ToArray();
        w[3210] = 1000f;
        var sampler = new Sampler(5000);
        Assert.Equal(3210, sampler.DrawFrom(w, (3210 + 500) / 5999.0));
        Assert.Equal(3209, sampler.DrawFrom(w, 3209.5 / 5999.0));
        Assert.Equal(3211, sampler.DrawFrom(w, (4210 + 0.5) / 5999.0));
        Assert.Equal(4999, sampler.DrawFrom(w, 5998.5 / 5999.0));
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

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Sample_FullVocabulary_AllocatesAlmostNothing(bool logprobs)
    {
        const int vocab = 151_936;
        var random = new Random(3);
        var logits = Enumerable.Range(0, vocab).Select(_ => (float)(random.NextDouble() * 10)).ToArray();
        logits[7] = 40f; // a clear head of three: the penalties cannot push the draws outside it, so the state stops growing
        logits[70_000] = 39.5f;
        logits[151_000] = 39f;
        var work = new float[vocab];
        var sampler = new Sampler(vocab);
        var p = new SamplingParams { Temperature = 0.7f, TopK = 20, TopP = 0.8f, RepetitionPenalty = 1.05f, PresencePenalty = 0.5f, LogitBias = new Dictionary<int, float> { [5] = 1f }, TopLogprobs = logprobs ? 5 : null, Seed = 1 };
        var state = new SamplingState(p, Enumerable.Range(0, 500).ToArray(), vocab);
        for (var i = 0; i < 20; i++)
        {
            logits.CopyTo(work, 0);
            sampler.Sample(work, state); // warm up: the state's lists have seen every token these logits can give
        }
        // The least of five rounds: a one-off runtime allocation on this thread (tiered JIT) must not count as per-token.
        var perCall = double.MaxValue;
        for (var round = 0; round < 5; round++)
        {
            var before = GC.GetAllocatedBytesForCurrentThread();
            for (var i = 0; i < 100; i++)
            {
                logits.CopyTo(work, 0);
                sampler.Sample(work, state);
            }
            perCall = Math.Min(perCall, (GC.GetAllocatedBytesForCurrentThread() - before) / 100.0);
        }
        // With logprobs only the 5-entry array handed to the caller (24 + 5 * 8 bytes); without, nothing at all.
        Assert.True(perCall <= (logprobs ? 64 : 0), $"{perCall:F0} bytes allocated per call");
    }

    [Theory]
    [InlineData(-0.1f, 1f, 0)]
    [InlineData(1f, 0f, 0)]
    [InlineData(1f, 1.5f, 0)]
    [InlineData(1f, 1f, -1)]
    public void State_OutOfRangeParameters_Throw(float temperature, float topP, int topK)
        => Assert.Throws<ArgumentOutOfRangeException>(() => new SamplingState(new SamplingParams { Temperature = temperature, TopP = topP, TopK = topK }, [], 10));
}
