using Qwen.Inference.Sampling;

namespace Qwen.Inference.Tests.Sampling;

/// <summary>Constrained sampling (llama.cpp's order): sample, and only when the constraint rejects it resample from the masked logits.</summary>
public sealed class SamplerConstraintTests
{
    private static readonly float[] Quarter = [MathF.Log(0.1f), MathF.Log(0.2f), MathF.Log(0.3f), MathF.Log(0.4f)];

    [Fact]
    public void Greedy_ArgmaxDisallowed_BestAllowedIsTakenAndAccepted()
    {
        float[] logits = [1f, 5f, 3f, 4f, 2f];
        var constraint = ScriptedConstraint.EvenIds();
        var sampler = new Sampler(5);
        var state = new SamplingState(new SamplingParams { TopLogprobs = 1 }, [], 5);
        Assert.True(sampler.TrySample(logits, state, constraint, 0, out var token));
        Assert.Equal(2, token.TokenId); // evens: 0 -> 1, 2 -> 3, 4 -> 2
        Assert.Equal([2], constraint.Accepted);
        Assert.Equal([2], state.OutputTokenIds.ToArray());
        // Logprobs stay those of the unconstrained logits: log softmax([1, 5, 3, 4, 2])[2], and the top alternative is 1.
        var z = Math.Log(new[] { 1.0, 5, 3, 4, 2 }.Sum(Math.Exp));
        Assert.Equal(3 - z, token.Logprob!.Value, 5);
        Assert.Equal(1, token.TopLogprobs![0].TokenId);
        Assert.Equal([1f, 5f, 3f, 4f, 2f], logits); // masking works on a scratch copy
    }

    [Fact]
    public void Greedy_ArgmaxAllowed_OneCheckNoMask()
    {
        var constraint = ScriptedConstraint.EvenIds();
        Assert.True(new Sampler(5).TrySample([1f, 2f, 6f, 4f, 2f], new SamplingState(new SamplingParams(), [], 5), constraint, 0, out var token));
        Assert.Equal(2, token.TokenId);
        Assert.Equal(1, constraint.IsAllowedCalls); // the whole-vocabulary mask is only built when the first pick is rejected
    }

    public static TheoryData<SamplingParams> Resampled => new()
    {
        new SamplingParams(),
        new SamplingParams { Temperature = 0.8f },
        new SamplingParams { Temperature = 1f, TopK = 5 },
        new SamplingParams { Temperature = 1.2f, TopP = 0.9f, MinP = 0.01f },
    };

    [Theory]
    [MemberData(nameof(Resampled))]
    public void Resample_BulkFillAllowed_SameTokensAsTheIsAllowedLoopWithOneCallPerResample(SamplingParams p)
    {
        const int vocab = 200; // not a multiple of 64: the mask's last word has bits past the row
        var rng = new Random(7);
        var sampler = new Sampler(vocab);
        var looped = new SamplingState(p with { Seed = 11 }, [], vocab);
        var bulk = new SamplingState(p with { Seed = 11 }, [], vocab);
        var scripted = new ScriptedConstraint((_, id) => id % 3 == 0);
        var bitmask = new BitmaskConstraint(id => id % 3 == 0, vocab);
        for (var step = 0; step < 200; step++)
        {
            var logits = new float[vocab];
            for (var i = 0; i < vocab; i++)
            {
                logits[i] = rng.Next(10) == 0 ? float.NegativeInfinity : (float)(rng.NextDouble() * 6);
            }
            Assert.True(sampler.TrySample((float[])logits.Clone(), looped, scripted, 0, out var expected));
            Assert.True(sampler.TrySample(logits, bulk, bitmask, 0, out var token));
            Assert.Equal(expected.TokenId, token.TokenId);
        }
        Assert.Equal(200, scripted.Accepted.Count);
        // The default FillAllowed asks IsAllowed for each of the 200 ids (none past the row); the bulk one is called once per
        // refused first pick instead, and IsAllowed only for the first pick (and by this test's Accept).
        var refused = (scripted.IsAllowedCalls - 200) / vocab;
        Assert.Equal(200 + (vocab * refused), scripted.IsAllowedCalls);
        Assert.InRange(refused, 50, 200);
        Assert.Equal(refused, bitmask.FillAllowedCalls);
        Assert.Equal(400, bitmask.IsAllowedCalls);
    }

    public static TheoryData<string, SamplingParams, double[]> Mixtures => new()
    {
        // P(t) = q(t) + (1 - q(allowed)) * r(t): q the unconstrained distribution, r the masked one, both after the transforms.
        // No truncation: q = [.1 .2 .3 .4], r = [.25 0 .75 0] -> [.1 + .6 * .25, 0, .3 + .6 * .75, 0] = [.25 0 .75 0].
        { "plain", new SamplingParams { Temperature = 1f }, [0.25, 0, 0.75, 0] },
        // top_k 2: q = [0 0 3/7 4/7], r = top 2 of the evens = [.25 0 .75 0] -> [4/7 * .25, 0, 3/7 + 4/7 * .75, 0] = [1/7 0 6/7 0].
        { "top_k 2", new SamplingParams { Temperature = 1f, TopK = 2 }, [1 / 7.0, 0, 6 / 7.0, 0] },
        // top_p 0.6: q keeps .4 .3 -> [0 0 3/7 4/7]; r over the evens (.25 .75) keeps .75 only -> [0 0 1 0]; P = [0 0 3/7 + 4/7 0].
        { "top_p 0.6", new SamplingParams { Temperature = 1f, TopP = 0.6f }, [0, 0, 1, 0] },
    };

    [Theory]
    [MemberData(nameof(Mixtures))]
    public void Sampled_EvenIds_FrequenciesMatchTheResampleMixture_ChiSquare(string name, SamplingParams p, double[] expected)
    {
        const int draws = 20_000;
        var counts = new int[4];
        var sampler = new Sampler(4);
        var state = new SamplingState(p with { Seed = 2024 }, [], 4);
        var constraint = ScriptedConstraint.EvenIds();
        for (var i = 0; i < draws; i++)
        {
            Assert.True(sampler.TrySample((float[])Quarter.Clone(), state, constraint, 0, out var token));
            counts[token.TokenId]++;
        }
        var chi = 0.0;
        var df = -1;
        for (var i = 0; i < 4; i++)
        {
            if (expected[i] == 0)
            {
                Assert.True(counts[i] == 0, $"{name}: token {i} has probability 0 but was drawn {counts[i]} times");
                continue;
            }
            chi += Math.Pow(counts[i] - (expected[i] * draws), 2) / (expected[i] * draws);
            df++;
        }
        Assert.True(df == 0 ? counts.Sum() == counts.Max() : chi < 10.83, $"{name}: chi-square {chi:F2} (df {df}); counts {string.Join(",", counts)}");
        Assert.Equal(draws, constraint.Accepted.Count);
    }

    [Fact]
    public void NoTokenAllowed_ReturnsFalseWithTheGivenToken_NothingAcceptedOrRecorded()
    {
        var constraint = new ScriptedConstraint((_, _) => false);
        var sampler = new Sampler(4);
        var state = new SamplingState(new SamplingParams { Temperature = 1f, TopLogprobs = 0, Seed = 3 }, [], 4);
        Assert.False(sampler.TrySample((float[])Quarter.Clone(), state, constraint, 3, out var token));
        Assert.Equal(3, token.TokenId);
        Assert.Equal(Math.Log(0.4), token.Logprob!.Value, 5);
        Assert.Empty(constraint.Accepted);
        Assert.Equal(0, state.OutputTokenIds.Length);
    }

    [Fact]
    public void Seeded_Constrained_SameTokensAloneAndInterleaved()
    {
        float[] logits = [0f, 0.4f, 0.2f, 0.9f, 0.4f, 0.5f, 1.2f, 0.1f];
        var p = new SamplingParams { Temperature = 1f, TopP = 0.9f, Seed = 42 };
        var sampler = new Sampler(8);
        List<int> Run(bool interleaved)
        {
            var state = new SamplingState(p, [], 8);
            var other = new SamplingState(p with { Seed = 7 }, [], 8);
            var constraint = ScriptedConstraint.EvenIds();
            var otherConstraint = new ScriptedConstraint((_, id) => id != 6);
            for (var i = 0; i < 60; i++)
            {
                Assert.True(sampler.TrySample((float[])logits.Clone(), state, constraint, 0, out _));
                if (interleaved)
                {
                    sampler.TrySample((float[])logits.Clone(), other, otherConstraint, 0, out _);
                }
            }
            return constraint.Accepted;
        }
        var alone = Run(false);
        Assert.All(alone, id => Assert.Equal(0, id % 2));
        Assert.Equal(alone, Run(true));
    }
}
