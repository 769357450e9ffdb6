using System.Diagnostics;
using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Qwen.Inference.Engine;

namespace Qwen.Inference.Sampling;

/// <summary>
/// Picks the next token from one row of logits, in Hugging Face's order:
/// logit_bias → repetition_penalty (prompt and output) → presence/frequency penalties (output, OpenAI) → [logprobs are
/// taken here: the log-softmax of the penalised logits, before temperature and truncation] → temperature 0: argmax;
/// otherwise temperature → top_k → top_p → min_p (HF's warper order) → draw from the renormalised remainder with the
/// sequence's own generator. With a <see cref="ITokenConstraint"/> (llama.cpp's order): sample as above; if the
/// constraint rejects the token, mask every disallowed token to -inf in a scratch copy (from one
/// <see cref="ITokenConstraint.FillAllowed"/> bitmask) and sample again with the same transforms. The penalties change the row in place; temperature, truncation and masking never do (they work on scratch
/// buffers). <see cref="TrySampleCandidates"/> does the same from a row's top-K candidates when they alone decide the
/// token. One thread at a time: the scratch buffers are allocated once, never per token, so a thread that samples rows
/// in parallel with others needs a <see cref="Sampler"/> of its own (and each sequence's state is used by one at a time).
/// </summary>
public sealed class Sampler
{
    private const int DrawBlock = 1024; // the draw sums blocks of this many weights (vectorised), then walks one block
    private const float FirstBand = 0.36787944f; // e^-1: nucleus gathering starts with tokens within T of the top logit

    private readonly float[] _probs;             // [vocab] exp((x - max) / T): unnormalised, the top token has 1
    private readonly float[] _masked;            // [vocab] constrained resample: penalised logits, disallowed at -inf
    private readonly ulong[] _allowed;           // [ceil(vocab / 64)] constrained resample: bit per token the constraint allows
    private readonly Candidate[] _candidates;    // [vocab] gathered tokens (never more than the vocabulary)
    private readonly float[] _weights;           // [vocab] weights of the kept candidates
    private readonly Candidate[] _blocks;        // [vocab / 64 + 1] block maxima, for the top-k threshold
    private readonly double[] _blockSums;        // [vocab / DrawBlock + 1]

    /// <summary>Allocates scratch buffers for a vocabulary of <paramref name="vocabSize"/> tokens.</summary>
    public Sampler(int vocabSize)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(vocabSize, 1);
        _probs = new float[vocabSize];
        _masked = new float[vocabSize];
        _allowed = new ulong[(vocabSize + 63) >> 6];
        _candidates = new Candidate[vocabSize];
        _weights = new float[vocabSize];
        _blocks = new Candidate[(vocabSize / 64) + 1];
        _blockSums = new double[(vocabSize / DrawBlock) + 1];
    }

    /// <summary>Applies the penalties to <paramref name="logits"/> in place, picks a token and records it in <paramref name="state"/>.</summary>
    public SampledToken Sample(Span<float> logits, SamplingState state)
    {
        TrySample(logits, state, null, 0, out var token);
        return token;
    }

    /// <summary>
    /// Like <see cref="Sample(Span{float}, SamplingState)"/>, restricted by <paramref name="constraint"/> (when not null),
    /// which is told the chosen token (<see cref="ITokenConstraint.Accept"/>). Returns false when the constraint allows no
    /// token at all: then <paramref name="token"/> reports <paramref name="noneAllowedTokenId"/> (with its logprob when
    /// asked) and nothing is accepted or recorded. Logprobs are always those of the unconstrained penalised logits.
    /// </summary>
    public bool TrySample(Span<float> logits, SamplingState state, ITokenConstraint? constraint, int noneAllowedTokenId, out SampledToken token)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(logits.Length, _probs.Length, nameof(logits));
        ArgumentOutOfRangeException.ThrowIfZero(logits.Length, nameof(logits));
        var p = state.Parameters;
        ApplyPenalties(logits, state);

        var logSumExp = 0f;
        TokenLogprob[]? top = null;
        var selected = -1; // candidates already selected (sorted) from these logits, reused by top_k
        if (p.TopLogprobs is { } n)
        {
            logSumExp = LogSumExp(logits);
            var topK = p.Temperature > 0 ? p.TopK : 0;
            var m = Math.Max(n, topK);
            selected = m > 0 ? SelectTop(logits, m) : 0;
            top = n == 0 ? [] : new TokenLogprob[Math.Min(n, selected)];
            for (var i = 0; i < top.Length; i++)
            {
                top[i] = new TokenLogprob(_candidates[i].Id, _candidates[i].Value - logSumExp);
            }
            if (topK == 0)
            {
                selected = -1;
            }
        }

        var id = Pick(logits, p, state.Random, selected);
        if (constraint is not null && !constraint.IsAllowed(id))
        {
            var masked = _masked.AsSpan(0, logits.Length);
            var bits = _allowed.AsSpan(0, (logits.Length + 63) >> 6);
            constraint.FillAllowed(bits, logits.Length);
            var allowed = Mask(logits, bits, masked);
            if (!allowed)
            {
                float? noneLogprob = p.TopLogprobs is not null && (uint)noneAllowedTokenId < (uint)logits.Length ? logits[noneAllowedTokenId] - logSumExp : null;
                token = new SampledToken(noneAllowedTokenId, noneLogprob, top);
                return false;
            }
            id = Pick(masked, p, state.Random, -1);
        }
        constraint?.Accept(id);
        state.Record(id);
        token = new SampledToken(id, p.TopLogprobs is null ? null : logits[id] - logSumExp, top);
        return true;
    }

    /// <summary>
    /// <paramref name="masked"/> = <paramref name="x"/> where the token's bit is set and its logit is above -inf, else -inf;
    /// returns whether any token is left. A string body allows most of the vocabulary, interleaved with refused ids, so
    /// with 256-bit vectors each byte of the mask becomes a lane mask: over a 151,936-entry row with 97% allowed, ~55 µs
    /// more than an unconstrained greedy pick against ~180 µs for a visit per set bit (measured here on a busy two-core
    /// machine; ~30 µs either way with few allowed).
    /// </summary>
    private static bool Mask(ReadOnlySpan<float> x, ReadOnlySpan<ulong> bits, Span<float> masked)
    {
        var any = false;
        var w = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var lanes = Vector256.Create(1, 2, 4, 8, 16, 32, 64, 128);
            var none = Vector256.Create(float.NegativeInfinity);
            var kept = Vector256<float>.Zero;
            ref var r = ref MemoryMarshal.GetReference(x);
            ref var d = ref MemoryMarshal.GetReference(masked);
            for (; (w + 1) << 6 <= x.Length; w++)
            {
                var word = bits[w];
                for (var j = 0; j < 64; j += 8)
                {
                    var i = (nuint)((w << 6) + j);
                    if (word == 0)
                    {
                        none.StoreUnsafe(ref d, i); // most words where a grammar allows few tokens
                        continue;
                    }
                    var set = Vector256.Equals(Vector256.Create((int)(word >> j) & 0xFF) & lanes, lanes).AsSingle();
                    var v = Vector256.LoadUnsafe(ref r, i);
                    var keep = set & Vector256.GreaterThan(v, none);
                    Vector256.ConditionalSelect(keep, v, none).StoreUnsafe(ref d, i);
                    kept |= keep;
                }
            }
            any = kept.AsInt32() != Vector256<int>.Zero;
        }
        for (var i = w << 6; i < x.Length; i++)
        {
            var keep = (bits[i >> 6] & (1UL << i)) != 0 && x[i] > float.NegativeInfinity;
            masked[i] = keep ? x[i] : float.NegativeInfinity;
            any |= keep;
        }
        return any;
    }

    /// <summary>
    /// Whether a sequence with <paramref name="p"/> may be sampled from <paramref name="k"/> candidates (false: ask for its
    /// full row up front). False when a token outside the candidates could rise above them (a positive logit_bias, a
    /// repetition penalty below 1, a negative presence or frequency penalty), when the draw reads the whole vocabulary
    /// (temperature &gt; 0 without top_k, or top_k &gt; k), when more than k top logprobs are asked, and when logprobs are
    /// asked together with any penalty (their log-sum-exp is of the penalised row, which only the full row gives).
    /// </summary>
    public static bool MayUseCandidates(SamplingParams p, int k)
    {
        ArgumentNullException.ThrowIfNull(p);
        var raises = false;
        foreach (var bias in p.LogitBias?.Values ?? [])
        {
            raises |= !(bias <= 0);
        }
        return MayUse(p, k, raises);
    }

    /// <summary>
    /// Picks the token from <paramref name="row"/>'s candidates when they alone decide it, with exactly the result of
    /// <see cref="TrySample"/> over the full row: the same token, top-logprob ids, generator state, constraint calls and
    /// recorded state; logprobs differ only by the rounding of the row's log-sum-exp. Otherwise returns
    /// <see cref="CandidateOutcome.NeedsFullRow"/> having changed nothing (the generator is restored if a draw was made).
    /// The rule: the penalties are applied to the candidates with the full path's float operations; sorted best first, the
    /// first j candidates are the row's j best tokens once the j-th is beyond any outside token's reach (see
    /// <see cref="IsSafe"/>); greedy needs the first, top_k needs k, top_logprobs n, and a constraint that rejects the
    /// first pick needs that many allowed ones among them. It never returns <see cref="CandidateOutcome.NoneAllowed"/>:
    /// only the full row can show that no token is allowed.
    /// </summary>
    public CandidateOutcome TrySampleCandidates(CandidateRow row, SamplingState state, ITokenConstraint? constraint, int noneAllowedTokenId, out SampledToken token)
    {
        ArgumentNullException.ThrowIfNull(state);
        var k = row.Values.Length;
        ArgumentOutOfRangeException.ThrowIfNotEqual(row.Ids.Length, k, nameof(row));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(k, _candidates.Length, nameof(row));
        token = default;
        var p = state.Parameters;
        var biases = state.LogitBiasValues;
        // A non-finite log-sum-exp means a NaN or +inf somewhere in the row (or nothing finite): the full path decides.
        if (k == 0 || !MayUse(p, k, biases.Length > 0 && !(TensorPrimitives.Max(biases) <= 0)) || !float.IsFinite(row.LogSumExp))
        {
            return CandidateOutcome.NeedsFullRow;
        }

        var kth = row.Values[k - 1];
        var c = _candidates.AsSpan(0, k);
        var order = default(BetterFirst);
        Candidate? lastSafe = null;
        for (var i = 0; i < k; i++)
        {
            c[i] = new Candidate(Penalised(row.Values[i], row.Ids[i], state), row.Ids[i]);
            if (IsSafe(c[i].Value, row.Values[i], kth) && (lastSafe is not { } s || order.Compare(c[i], s) > 0))
            {
                lastSafe = c[i];
            }
        }
        if (lastSafe is not { } worst)
        {
            return CandidateOutcome.NeedsFullRow;
        }
        c.Sort(BetterFirst.Comparison);
        // c[..known] are the row's best tokens in the full path's order: every outside token ranks after the worst safe one.
        var known = c.IndexOf(worst) + 1;
        var needed = p.Temperature == 0 ? 1 : p.TopK;
        if (needed > known || p.TopLogprobs > known)
        {
            return CandidateOutcome.NeedsFullRow;
        }

        TokenLogprob[]? top = null;
        if (p.TopLogprobs is { } n)
        {
            top = new TokenLogprob[n];
            for (var i = 0; i < n; i++)
            {
                top[i] = new TokenLogprob(c[i].Id, c[i].Value - row.LogSumExp);
            }
        }
        var saved = state.Random.Save();
        var pick = p.Temperature == 0 ? 0 : DrawTopK(c[..needed], p, state.Random);
        if (constraint is not null && !constraint.IsAllowed(c[pick].Id))
        {
            // The full path resamples among the allowed tokens: decidable here when the known prefix holds enough of them.
            var allowed = 0;
            for (var i = 0; i < known && allowed < needed; i++)
            {
                if (constraint.IsAllowed(c[i].Id))
                {
                    c[allowed++] = c[i];
                }
            }
            if (allowed < needed)
            {
                state.Random.Restore(saved);
                return CandidateOutcome.NeedsFullRow;
            }
            pick = p.Temperature == 0 ? 0 : DrawTopK(c[..needed], p, state.Random);
        }
        var id = c[pick].Id;
        constraint?.Accept(id);
        state.Record(id);
        token = new SampledToken(id, p.TopLogprobs is null ? null : c[pick].Value - row.LogSumExp, top);
        return CandidateOutcome.Sampled;
    }

    /// <summary>
    /// Draws an index with probability proportional to <paramref name="weights"/>, for a uniform <paramref name="u"/> in
    /// [0, 1). Sums blocks (vectorised), then walks one block. When rounding leaves the draw past the total, the last index
    /// with a non-zero weight is taken (never a zero-probability one).
    /// </summary>
    internal int DrawFrom(ReadOnlySpan<float> weights, double u)
    {
        var blocks = (weights.Length + DrawBlock - 1) / DrawBlock;
        var sums = _blockSums.AsSpan(0, blocks);
        double total = 0;
        for (var b = 0; b < blocks; b++)
        {
            sums[b] = TensorPrimitives.Sum(Block(weights, b));
            total += sums[b];
        }
        var target = u * total;
        double cumulative = 0;
        for (var b = 0; b < blocks; b++)
        {
            if (cumulative + sums[b] > target)
            {
                var block = Block(weights, b);
                for (var i = 0; i < block.Length; i++)
                {
                    cumulative += block[i];
                    if (cumulative > target)
                    {
                        return (b * DrawBlock) + i;
                    }
                }
                // The vectorised block sum rounded above the sequential walk: the draw belongs to this block's last token.
                return (b * DrawBlock) + LastPositive(block);
            }
            cumulative += sums[b];
        }
        return Math.Max(0, LastPositive(weights));
    }

    /// <summary>
    /// Fills the candidate buffer with the min(<paramref name="k"/>, finite) highest of <paramref name="x"/>, best first
    /// (ties: lower id first), and returns how many. One vectorised pass takes the maxima of about 8k blocks; the k-th
    /// best of them is a threshold at or below the k-th best token (k distinct tokens reach it), so a second vectorised
    /// pass gathers the few tokens at or above it, of which a partial selection keeps k. -inf (masked) never counts.
    /// </summary>
    internal int SelectTop(ReadOnlySpan<float> x, int k)
    {
        Debug.Assert(k > 0);
        var n = x.Length;
        var threshold = float.MinValue; // the lowest finite value: excludes -inf
        var wanted = Math.Min(8L * k, n / 64);
        if (wanted >= 2L * k)
        {
            var size = (int)(((n + wanted - 1) / wanted) + 15) & ~15;
            var count = 0;
            for (var start = 0; start < n; start += size)
            {
                _blocks[count] = new Candidate(TensorPrimitives.Max(x.Slice(start, Math.Min(size, n - start))), count);
                count++;
            }
            if (count >= k)
            {
                var maxima = _blocks.AsSpan(0, count);
                PartitionBest(maxima, k);
                var kth = float.PositiveInfinity;
                foreach (var m in maxima[..k])
                {
                    kth = Math.Min(kth, m.Value);
                }
                threshold = Math.Max(threshold, kth);
            }
        }
        var gathered = Gather(x, threshold, float.PositiveInfinity, 0);
        var c = _candidates.AsSpan(0, gathered);
        if (gathered > k)
        {
            PartitionBest(c, k);
            c = c[..k];
        }
        c.Sort(BetterFirst.Comparison);
        return c.Length;
    }

    /// <summary>The id of the <paramref name="index"/>-th candidate of the last <see cref="SelectTop"/> (best first).</summary>
    internal int SelectedId(int index) => _candidates[index].Id;

    private static ReadOnlySpan<float> Block(ReadOnlySpan<float> weights, int b)
        => weights.Slice(b * DrawBlock, Math.Min(DrawBlock, weights.Length - (b * DrawBlock)));

    private static int LastPositive(ReadOnlySpan<float> weights)
    {
        for (var i = weights.Length - 1; i >= 0; i--)
        {
            if (weights[i] > 0)
            {
                return i;
            }
        }
        return -1;
    }

    /// <summary>Sparse: only the biased, seen and generated tokens are touched, never the whole row.</summary>
    private static void ApplyPenalties(Span<float> logits, SamplingState state)
    {
        var p = state.Parameters;
        var biasIds = state.LogitBiasIds;
        var biasValues = state.LogitBiasValues;
        for (var i = 0; i < biasIds.Length; i++)
        {
            logits[biasIds[i]] += biasValues[i];
        }
        if (p.RepetitionPenalty != 1f)
        {
            foreach (var id in state.SeenTokens)
            {
                if ((uint)id < (uint)logits.Length)
                {
                    logits[id] = Repeat(logits[id], p.RepetitionPenalty);
                }
            }
        }
        if (p.PresencePenalty != 0 || p.FrequencyPenalty != 0)
        {
            var ids = state.OutputTokenIds;
            var counts = state.OutputCounts;
            for (var i = 0; i < ids.Length; i++)
            {
                logits[ids[i]] -= PresenceFrequency(p, counts[i]);
            }
        }
    }

    /// <summary>
    /// One candidate's logit after <see cref="ApplyPenalties"/>, by the same float operations in the same order (bias,
    /// repetition, presence and frequency), so it is bitwise the full path's value.
    /// </summary>
    private static float Penalised(float x, int id, SamplingState state)
    {
        var p = state.Parameters;
        if (state.TryGetBias(id, out var bias))
        {
            x += bias;
        }
        if (p.RepetitionPenalty != 1f && state.HasSeen(id))
        {
            x = Repeat(x, p.RepetitionPenalty);
        }
        if ((p.PresencePenalty != 0 || p.FrequencyPenalty != 0) && state.OutputCount(id) is var count and > 0)
        {
            x -= PresenceFrequency(p, count);
        }
        return x;
    }

    /// <summary>Hugging Face's repetition penalty of one logit: positive ones divided, the others multiplied.</summary>
    private static float Repeat(float x, float penalty) => x > 0 ? x / penalty : x * penalty;

    /// <summary>OpenAI's presence and frequency penalty of a token generated <paramref name="count"/> times.</summary>
    private static float PresenceFrequency(SamplingParams p, int count) => p.PresencePenalty + (p.FrequencyPenalty * count);

    /// <summary><see cref="MayUseCandidates"/>, given whether any logit_bias is positive.</summary>
    private static bool MayUse(SamplingParams p, int k, bool biasRaises)
    {
        var penalised = p.LogitBias is { Count: > 0 } || p.RepetitionPenalty != 1f || p.PresencePenalty != 0 || p.FrequencyPenalty != 0;
        var lowersOnly = !biasRaises && p.RepetitionPenalty >= 1f && p.PresencePenalty >= 0 && p.FrequencyPenalty >= 0;
        var decidable = p.Temperature == 0 || (p.TopK > 0 && p.TopK <= k);
        return k > 0 && lowersOnly && decidable && (p.TopLogprobs is null || (p.TopLogprobs <= k && !penalised));
    }

    /// <summary>
    /// Whether every token outside the candidates ranks after a candidate whose penalised value is
    /// <paramref name="value"/> and raw value <paramref name="raw"/>, given the K-th raw value <paramref name="kth"/>. An
    /// outside token's raw logit is at most kth and penalties only lower, so it is beaten by a value above kth, and by one
    /// equal to kth whose raw value is kth too: TopK keeps the lower ids among equal values, so the outside token's id is
    /// higher. A candidate lowered onto kth may lose to an outside token with a lower id; -inf never counts.
    /// </summary>
    private static bool IsSafe(float value, float raw, float kth)
        => float.IsFinite(value) && (value > kth || (value == kth && raw == kth));

    private float LogSumExp(ReadOnlySpan<float> x)
    {
        var max = TensorPrimitives.Max(x);
        return max + MathF.Log(ExpShifted(x, max, 1f, _probs.AsSpan(0, x.Length)));
    }

    /// <summary>
    /// The lowest index of the largest value (greedy's tie rule). With 512-bit vectors: Max, then a vectorised scan for its
    /// first occurrence, about a third of TensorPrimitives.IndexOfMax's time on a 151,936-entry row (measured here).
    /// </summary>
    internal static int ArgMax(ReadOnlySpan<float> x)
    {
        if (!Vector512.IsHardwareAccelerated)
        {
            return TensorPrimitives.IndexOfMax(x);
        }
        var max = TensorPrimitives.Max(x);
        if (float.IsNaN(max))
        {
            return TensorPrimitives.IndexOfMax(x);
        }
        var i = 0;
        ref var r = ref MemoryMarshal.GetReference(x);
        var target = Vector512.Create(max);
        for (; i <= x.Length - Vector512<float>.Count; i += Vector512<float>.Count)
        {
            var bits = Vector512.Equals(Vector512.LoadUnsafe(ref r, (nuint)i), target).ExtractMostSignificantBits();
            if (bits != 0)
            {
                return i + BitOperations.TrailingZeroCount(bits);
            }
        }
        for (; i < x.Length; i++)
        {
            if (x[i] == max)
            {
                return i;
            }
        }
        return 0;
    }

    /// <summary>
    /// <paramref name="destination"/> = exp((x - max) * scale), in one fused pass where the hardware has 512-bit vectors
    /// (TensorPrimitives would take three); returns the sum.
    /// </summary>
    private static float ExpShifted(ReadOnlySpan<float> x, float max, float scale, Span<float> destination)
    {
        var i = 0;
        var sum = 0f;
        if (Vector512.IsHardwareAccelerated)
        {
            ref var r = ref MemoryMarshal.GetReference(x);
            ref var d = ref MemoryMarshal.GetReference(destination);
            var vmax = Vector512.Create(max);
            var vscale = Vector512.Create(scale);
            var acc = Vector512<float>.Zero;
            for (; i <= x.Length - Vector512<float>.Count; i += Vector512<float>.Count)
            {
                var e = Vector512.Exp((Vector512.LoadUnsafe(ref r, (nuint)i) - vmax) * vscale);
                e.StoreUnsafe(ref d, (nuint)i);
                acc += e;
            }
            sum = Vector512.Sum(acc);
        }
        else
        {
            var rest = destination[..x.Length];
            TensorPrimitives.Subtract(x, max, rest);
            TensorPrimitives.Multiply(rest, scale, rest);
            TensorPrimitives.Exp(rest, rest);
            return TensorPrimitives.Sum(rest);
        }
        for (; i < x.Length; i++)
        {
            destination[i] = MathF.Exp((x[i] - max) * scale);
            sum += destination[i];
        }
        return sum;
    }

    /// <summary>One token from <paramref name="x"/> under temperature, top_k, top_p and min_p; one draw from the generator.</summary>
    private int Pick(ReadOnlySpan<float> x, SamplingParams p, SequenceRandom random, int selected)
    {
        if (p.Temperature == 0)
        {
            return ArgMax(x);
        }
        if (p.TopK > 0)
        {
            // Everything after top_k works on its k candidates only, never on the vocabulary again.
            var count = selected >= 0 ? Math.Min(selected, p.TopK) : SelectTop(x, p.TopK);
            if (count == 0)
            {
                return ArgMax(x); // nothing finite: degenerate row
            }
            return _candidates[DrawTopK(_candidates.AsSpan(0, count), p, random)].Id;
        }

        var max = TensorPrimitives.Max(x);
        if (max == float.NegativeInfinity)
        {
            return ArgMax(x);
        }
        var probs = _probs.AsSpan(0, x.Length);
        var total = ExpShifted(x, max, 1f / p.Temperature, probs);
        if (p.TopP >= 1 && p.MinP == 0)
        {
            return DrawFrom(probs, random.NextDouble());
        }
        // min_p alone is exact in one pass: p >= min_p * p_max is weight >= min_p, since the top weight is 1.
        var kept = p.TopP >= 1 ? Gather(probs, p.MinP, float.PositiveInfinity, 0) : Nucleus(probs, p.TopP * (double)total, p.MinP);
        var weights = _weights.AsSpan(0, kept);
        for (var i = 0; i < kept; i++)
        {
            weights[i] = _candidates[i].Value;
        }
        return _candidates[DrawFrom(weights, random.NextDouble())].Id;
    }

    /// <summary>
    /// The index drawn from <paramref name="best"/> (the top_k tokens, best first) under temperature, top_p and min_p; one
    /// draw from the generator. The full and the candidate path both end here, so their floats and draws are the same.
    /// </summary>
    private int DrawTopK(ReadOnlySpan<Candidate> best, SamplingParams p, SequenceRandom random)
    {
        var invT = 1f / p.Temperature;
        var count = best.Length;
        var w = _weights.AsSpan(0, count);
        for (var i = 0; i < count; i++)
        {
            w[i] = MathF.Exp((best[i].Value - best[0].Value) * invT);
        }
        if (p.TopP < 1)
        {
            count = NucleusCut(w, p.TopP * TensorPrimitives.Sum(w));
        }
        if (p.MinP > 0)
        {
            count = MinPCut(w[..count], p.MinP);
        }
        return DrawFrom(w[..count], random.NextDouble());
    }

    /// <summary>
    /// top_p over the whole vocabulary, then min_p: gathers bands of weights [lo, hi) with lo e^-1, e^-2, e^-4, ...
    /// (never below min_p) until the kept mass reaches <paramref name="target"/> (top_p of the total); only the last band is searched for the exact
    /// cut (the smallest best-first prefix whose mass reaches top_p, HF's rule). Returns the candidates kept (the first ones).
    /// </summary>
    private int Nucleus(ReadOnlySpan<float> w, double target, float minP)
    {
        var kept = 0;
        double keptMass = 0;
        var hi = float.PositiveInfinity;
        var tau = FirstBand;
        while (true)
        {
            var exhausted = tau < 1e-30f;
            var lo = Math.Max(exhausted ? float.Epsilon : tau, minP);
            var last = exhausted || lo <= minP;
            var end = Gather(w, lo, hi, kept);
            var band = _candidates.AsSpan(kept, end - kept);
            double bandMass = 0;
            foreach (var c in band)
            {
                bandMass += c.Value;
            }
            if (keptMass + bandMass >= target || last)
            {
                return kept + (keptMass + bandMass >= target ? MassPrefix(band, target - keptMass) : band.Length);
            }
            kept = end;
            keptMass += bandMass;
            hi = lo;
            tau *= tau;
        }
    }

    /// <summary>
    /// Moves the smallest best-first set of <paramref name="band"/> whose mass reaches <paramref name="need"/> to its front
    /// and returns its size (at least one): a selection by mass (partition around a pivot, keep or drop the better side by
    /// its mass), expected linear, so a flat distribution's huge band is never sorted.
    /// </summary>
    private static int MassPrefix(Span<Candidate> band, double need)
    {
        var order = default(BetterFirst);
        var lo = 0;
        var hi = band.Length; // undecided: [lo, hi); everything before lo is kept and better than all of it
        while (hi - lo > 32)
        {
            var pick = MedianOfThree(band, lo, lo + ((hi - lo) >> 1), hi - 1);
            (band[pick], band[hi - 1]) = (band[hi - 1], band[pick]);
            var pivot = band[hi - 1];
            var store = lo;
            double better = 0;
            for (var i = lo; i < hi - 1; i++)
            {
                if (order.Compare(band[i], pivot) < 0)
                {
                    better += band[i].Value;
                    (band[i], band[store]) = (band[store], band[i]);
                    store++;
                }
            }
            (band[store], band[hi - 1]) = (band[hi - 1], band[store]);
            if (better >= need)
            {
                hi = store;
            }
            else if (better + pivot.Value >= need)
            {
                return Math.Max(1, store + 1);
            }
            else
            {
                need -= better + pivot.Value;
                lo = store + 1;
            }
        }
        var rest = band[lo..hi];
        rest.Sort(BetterFirst.Comparison);
        var cumulative = 0.0;
        for (var i = 0; i < rest.Length; i++)
        {
            cumulative += rest[i].Value;
            if (cumulative >= need)
            {
                return lo + i + 1;
            }
        }
        return Math.Max(1, hi);
    }

    /// <summary>Smallest prefix of best-first weights whose mass reaches <paramref name="target"/> (at least one).</summary>
    private static int NucleusCut(ReadOnlySpan<float> w, float target)
    {
        var cumulative = 0f;
        for (var i = 0; i < w.Length; i++)
        {
            cumulative += w[i];
            if (cumulative >= target)
            {
                return i + 1;
            }
        }
        return w.Length;
    }

    /// <summary>Best-first weights at least <paramref name="minP"/> times the first (HF MinPLogitsWarper); at least one.</summary>
    private static int MinPCut(ReadOnlySpan<float> w, float minP)
    {
        var floor = minP * w[0];
        var cut = 1;
        while (cut < w.Length && w[cut] >= floor)
        {
            cut++;
        }
        return cut;
    }

    /// <summary>Appends the tokens with <paramref name="lo"/> &lt;= x &lt; <paramref name="hi"/> to the candidates from <paramref name="start"/>, in id order.</summary>
    private int Gather(ReadOnlySpan<float> x, float lo, float hi, int start)
    {
        var c = _candidates;
        var count = start;
        var i = 0;
        ref var r = ref MemoryMarshal.GetReference(x);
        if (Vector512.IsHardwareAccelerated)
        {
            var vlo = Vector512.Create(lo);
            var vhi = Vector512.Create(hi);
            for (; i <= x.Length - Vector512<float>.Count; i += Vector512<float>.Count)
            {
                var v = Vector512.LoadUnsafe(ref r, (nuint)i);
                var bits = (Vector512.GreaterThanOrEqual(v, vlo) & Vector512.LessThan(v, vhi)).ExtractMostSignificantBits();
                while (bits != 0)
                {
                    var j = i + BitOperations.TrailingZeroCount(bits);
                    c[count++] = new Candidate(x[j], j);
                    bits &= bits - 1;
                }
            }
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            var vlo = Vector256.Create(lo);
            var vhi = Vector256.Create(hi);
            for (; i <= x.Length - Vector256<float>.Count; i += Vector256<float>.Count)
            {
                var v = Vector256.LoadUnsafe(ref r, (nuint)i);
                var bits = (Vector256.GreaterThanOrEqual(v, vlo) & Vector256.LessThan(v, vhi)).ExtractMostSignificantBits();
                while (bits != 0)
                {
                    var j = i + BitOperations.TrailingZeroCount(bits);
                    c[count++] = new Candidate(x[j], j);
                    bits &= bits - 1;
                }
            }
        }
        for (; i < x.Length; i++)
        {
            if (x[i] >= lo && x[i] < hi)
            {
                c[count++] = new Candidate(x[i], i);
            }
        }
        return count;
    }

    /// <summary>Moves the <paramref name="k"/> best candidates to the front, unordered (Hoare's selection; ids make every key distinct).</summary>
    private static void PartitionBest(Span<Candidate> c, int k)
    {
        var order = default(BetterFirst);
        var nth = k - 1;
        var lo = 0;
        var hi = c.Length - 1;
        while (lo < hi)
        {
            var pivot = c[MedianOfThree(c, lo, lo + ((hi - lo) >> 1), hi)];
            var i = lo;
            var j = hi;
            do
            {
                while (order.Compare(c[i], pivot) < 0)
                {
                    i++;
                }
                while (order.Compare(pivot, c[j]) < 0)
                {
                    j--;
                }
                if (i <= j)
                {
                    (c[i], c[j]) = (c[j], c[i]);
                    i++;
                    j--;
                }
            }
            while (i <= j);
            if (j < nth)
            {
                lo = i;
            }
            if (nth < i)
            {
                hi = j;
            }
        }
    }

    /// <summary>The index of the median of three candidates.</summary>
    private static int MedianOfThree(ReadOnlySpan<Candidate> c, int a, int b, int d)
    {
        var order = default(BetterFirst);
        if (order.Compare(c[a], c[b]) > 0)
        {
            (a, b) = (b, a);
        }
        if (order.Compare(c[b], c[d]) > 0)
        {
            b = order.Compare(c[a], c[d]) > 0 ? a : d;
        }
        return b;
    }

    /// <summary>A token and its value (logit or weight).</summary>
    private readonly record struct Candidate(float Value, int Id);

    /// <summary>Higher value first; equal values: lower id first (greedy's tie rule), so every order is deterministic.</summary>
    private readonly struct BetterFirst : IComparer<Candidate>
    {
        /// <summary>For Span.Sort: a cached delegate (the IComparer overload boxes and wraps the comparer on every call).</summary>
        public static readonly Comparison<Candidate> Comparison = static (a, b) => default(BetterFirst).Compare(a, b);

        public int Compare(Candidate a, Candidate b)
            => a.Value != b.Value ? b.Value.CompareTo(a.Value) : a.Id.CompareTo(b.Id);
    }
}
