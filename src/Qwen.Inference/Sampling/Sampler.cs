using System.Numerics.Tensors;
using Qwen.Inference.Engine;

namespace Qwen.Inference.Sampling;

/// <summary>
/// Picks the next token from one row of logits, in Hugging Face's order:
/// logit_bias → repetition_penalty (prompt and output) → presence/frequency penalties (output, OpenAI) → [logprobs are
/// taken here: the log-softmax of the penalised logits, before temperature and truncation] → temperature 0: argmax;
/// otherwise temperature → top_k → top_p → min_p → draw from the renormalised remainder with the sequence's generator.
/// Engine loop thread only: the scratch buffers are allocated once, never per token.
/// </summary>
public sealed class Sampler
{
    private readonly float[] _probs;
    private readonly float[] _keys;
    private readonly int[] _ids;
    private readonly float[] _penalised; // the logits logprobs are reported from (temperature rescales the row in place)

    /// <summary>Allocates scratch buffers for a vocabulary of <paramref name="vocabSize"/> tokens.</summary>
    public Sampler(int vocabSize)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(vocabSize, 1);
        _probs = new float[vocabSize];
        _keys = new float[vocabSize];
        _ids = new int[vocabSize];
        _penalised = new float[vocabSize];
    }

    /// <summary>Transforms <paramref name="logits"/> in place, picks a token and records it in <paramref name="state"/>.</summary>
    public SampledToken Sample(Span<float> logits, SamplingState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        var p = state.Parameters;
        ApplyPenalties(logits, state);

        float? logprob = null;
        IReadOnlyList<TokenLogprob>? top = null;
        var logSumExp = 0f;
        if (p.TopLogprobs is not null)
        {
            var max = TensorPrimitives.Max(logits);
            var probs = _probs.AsSpan(0, logits.Length);
            TensorPrimitives.Subtract(logits, max, probs);
            TensorPrimitives.Exp(probs, probs);
            logSumExp = max + MathF.Log(TensorPrimitives.Sum(probs));
            top = TopLogprobs(logits, p.TopLogprobs.Value, logSumExp);
            logits.CopyTo(_penalised);
        }

        var token = p.Temperature == 0 ? TensorPrimitives.IndexOfMax(logits) : Draw(logits, p, state.Random);
        if (p.TopLogprobs is not null)
        {
            logprob = _penalised[token] - logSumExp;
        }
        state.Record(token);
        return new SampledToken(token, logprob, top);
    }

    private static void ApplyPenalties(Span<float> logits, SamplingState state)
    {
        var p = state.Parameters;
        if (p.LogitBias is { } bias)
        {
            foreach (var (id, value) in bias)
            {
                logits[id] += value;
            }
        }
        if (state.SeenTokens is { } seen)
        {
            foreach (var id in seen)
            {
                if ((uint)id < (uint)logits.Length)
                {
                    logits[id] = logits[id] > 0 ? logits[id] / p.RepetitionPenalty : logits[id] * p.RepetitionPenalty;
                }
            }
        }
        if (p.PresencePenalty != 0 || p.FrequencyPenalty != 0)
        {
            foreach (var (id, count) in state.OutputCounts)
            {
                logits[id] -= p.PresencePenalty + (p.FrequencyPenalty * count);
            }
        }
    }

    private List<TokenLogprob> TopLogprobs(ReadOnlySpan<float> logits, int n, float logSumExp)
    {
        var count = Candidates(logits, logits.Length == 0 ? 0 : TensorPrimitives.Max(logits), Math.Max(n, 1));
        var result = new List<TokenLogprob>(n);
        for (var i = 0; i < Math.Min(n, count); i++)
        {
            result.Add(new TokenLogprob(_ids[i], -_keys[i] - logSumExp));
        }
        return result;
    }

    private int Draw(Span<float> logits, SamplingParams p, SequenceRandom random)
    {
        var n = logits.Length;
        TensorPrimitives.Divide(logits, p.Temperature, logits);
        var max = TensorPrimitives.Max(logits);
        var probs = _probs.AsSpan(0, n);
        TensorPrimitives.Subtract(logits, max, probs);
        TensorPrimitives.Exp(probs, probs); // unnormalised, the top token has 1

        if (p.TopK == 0 && p.TopP >= 1 && p.MinP == 0)
        {
            return DrawFrom(probs, random);
        }

        // Sorted candidates, best first: enough of them to cover top_k and top_p exactly.
        var fullMass = TensorPrimitives.Sum(probs);
        var count = Candidates(logits, max, p.TopK > 0 ? p.TopK : 0, p.TopP < 1 ? p.TopP * fullMass : 0);
        if (p.TopK > 0)
        {
            count = Math.Min(count, p.TopK);
        }
        var kept = _probs.AsSpan(0, count); // reuse: probabilities of the sorted candidates
        for (var i = 0; i < count; i++)
        {
            kept[i] = MathF.Exp(-_keys[i] - max);
        }
        if (p.TopP < 1)
        {
            // Smallest prefix whose mass (of the whole distribution, or renormalised after top_k) reaches top_p; at least one token.
            var total = p.TopK > 0 ? TensorPrimitives.Sum(kept) : fullMass;
            var cumulative = 0f;
            var cut = count;
            for (var i = 0; i < count; i++)
            {
                cumulative += kept[i];
                if (cumulative >= p.TopP * total)
                {
                    cut = i + 1;
                    break;
                }
            }
            count = cut;
        }
        if (p.MinP > 0)
        {
            var floor = p.MinP * kept[0];
            var cut = 1;
            while (cut < count && kept[cut] >= floor)
            {
                cut++;
            }
            count = cut;
        }
        return _ids[DrawFrom(kept[..count], random)];
    }

    /// <summary>
    /// Fills _ids/_keys with candidate tokens sorted by logit (descending; key = -logit), at least <paramref name="minCount"/>
    /// of them and at least <paramref name="minMass"/> of unnormalised probability (exp(logit - max)). Lowers a threshold
    /// by halving steps instead of sorting the whole vocabulary: only tokens above it are sorted.
    /// </summary>
    private int Candidates(ReadOnlySpan<float> logits, float max, int minCount, float minMass = 0)
    {
        var n = logits.Length;
        var threshold = max - 1f;
        while (true)
        {
            var count = 0;
            var mass = 0f;
            for (var i = 0; i < n; i++)
            {
                if (logits[i] >= threshold)
                {
                    _ids[count] = i;
                    _keys[count++] = -logits[i];
                    mass += MathF.Exp(logits[i] - max);
                }
            }
            if ((count >= minCount && mass >= minMass) || count == n || threshold == float.NegativeInfinity)
            {
                _keys.AsSpan(0, count).Sort(_ids.AsSpan(0, count));
                return count;
            }
            threshold = threshold < max - 64 ? float.NegativeInfinity : max - ((max - threshold) * 2);
        }
    }

    private static int DrawFrom(ReadOnlySpan<float> weights, SequenceRandom random)
    {
        var target = random.NextDouble() * TensorPrimitives.Sum(weights);
        double cumulative = 0;
        for (var i = 0; i < weights.Length; i++)
        {
            cumulative += weights[i];
            if (cumulative > target)
            {
                return i;
            }
        }
        return weights.Length - 1;
    }
}
