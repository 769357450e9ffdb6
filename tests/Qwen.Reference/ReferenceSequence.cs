using System.Diagnostics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Qwen.Reference;

/// <summary>
/// One sequence of a <see cref="ReferenceQwen2"/>: its KV cache in double precision and its length. Tokens are appended
/// one or a chunk at a time; logits are computed only where asked (the tied lm_head of the tiny preset is 151936 x 64).
/// Not thread-safe: one caller at a time.
/// </summary>
/// <remarks>
/// Cache layout, per layer and KV head, chosen so that attention over 40K positions runs in seconds on one core:
/// keys in blocks of <see cref="Lanes"/> positions, [position / 8][head_dim][8], so that one Vector512 FMA per dimension
/// scores 8 keys at once; values [position][head_dim]. The arithmetic is the naive one, in double: scores q.k / sqrt(d),
/// softmax over positions [0, p] (max subtracted), the weighted sum of values.
/// </remarks>
public sealed class ReferenceSequence
{
    private const int Lanes = 8; // Vector512<double>.Count
    private const int KeyGroup = 4 * Lanes; // keys scored per pass: 4 blocks, 4 independent FMA chains
    private const int ValueTile = 256; // positions of values per pass of the weighted sum: 256 x 16 doubles stay in L1/L2

    private readonly ReferenceQwen2 _model;
    private readonly double[][] _keys, _values; // [layer * kv_heads + kv_head]
    private readonly double[]?[] _scores; // per KV head: [rows of one chunk][capacity rounded to 8], reused

    internal ReferenceSequence(ReferenceQwen2 model, int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(capacity);
        Debug.Assert(model.HeadDim % Lanes == 0, "head_dim must be a multiple of 8");
        _model = model;
        Capacity = capacity;
        var rounded = RoundedCapacity;
        _keys = Enumerable.Range(0, model.LayerCount * model.KvHeads).Select(_ => new double[rounded * model.HeadDim]).ToArray();
        _values = Enumerable.Range(0, model.LayerCount * model.KvHeads).Select(_ => new double[rounded * model.HeadDim]).ToArray();
        _scores = new double[model.KvHeads][];
    }

    /// <summary>Positions appended so far.</summary>
    public int Length { get; private set; }

    /// <summary>Positions this sequence has room for.</summary>
    public int Capacity { get; }

    private int RoundedCapacity => (Capacity + KeyGroup - 1) / KeyGroup * KeyGroup; // whole key groups: the last is scored past the end

    /// <summary>Appends one token; the logits [vocab] of its position.</summary>
    public double[] Append(int token) => Append([token], logits: true)!;

    /// <summary>Appends <paramref name="tokens"/> as one chunk; the logits of the last one when <paramref name="logits"/>, else null.</summary>
    public double[]? Append(ReadOnlySpan<int> tokens, bool logits)
    {
        if (tokens.IsEmpty)
        {
            throw new ArgumentException("no tokens to append", nameof(tokens));
        }
        if (Length + tokens.Length > Capacity)
        {
            throw new ArgumentOutOfRangeException(nameof(tokens), $"{Length} + {tokens.Length} positions exceed the capacity {Capacity}");
        }
        return _model.Run(this, tokens, logits);
    }

    /// <summary>Appends <paramref name="prompt"/> in chunks of <paramref name="chunk"/> tokens; the logits of its last position.</summary>
    public double[] Prefill(IReadOnlyList<int> prompt, int chunk = 32)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        var ids = prompt.ToArray();
        double[]? last = null;
        for (var start = 0; start < ids.Length; start += chunk)
        {
            var end = Math.Min(start + chunk, ids.Length);
            last = Append(ids.AsSpan(start, end - start), logits: end == ids.Length);
        }
        return last ?? throw new ArgumentException("empty prompt", nameof(prompt));
    }

    /// <summary>
    /// Greedy continuation: from <paramref name="logits"/> (those of the last position), <paramref name="count"/> times the
    /// arg-max token, appending each but the last; every step with the logits it was picked from.
    /// </summary>
    public IReadOnlyList<GreedyStep> Greedy(double[] logits, int count)
    {
        ArgumentNullException.ThrowIfNull(logits);
        var steps = new List<GreedyStep>();
        for (var i = 0; i < count; i++)
        {
            var step = GreedyStep.From(logits);
            steps.Add(step);
            if (i + 1 < count)
            {
                logits = Append(step.Token);
            }
        }
        return steps;
    }

    /// <summary>Stores position <paramref name="position"/>'s rotated keys and values [kv_heads * head_dim] of layer <paramref name="layer"/>.</summary>
    internal void Write(int layer, int position, double[] k, double[] v)
    {
        int hd = _model.HeadDim, block = position / Lanes, lane = position % Lanes;
        for (var g = 0; g < _model.KvHeads; g++)
        {
            var keys = _keys[(layer * _model.KvHeads) + g];
            for (var d = 0; d < hd; d++)
            {
                keys[(((block * hd) + d) * Lanes) + lane] = k[(g * hd) + d];
            }
            v.AsSpan(g * hd, hd).CopyTo(_values[(layer * _model.KvHeads) + g].AsSpan(position * hd, hd));
        }
    }

    /// <summary>Moves the length past positions written by <see cref="Write"/>.</summary>
    internal void Advance(int count) => Length += count;

    /// <summary>
    /// Causal grouped-query attention of layer <paramref name="layer"/> for queries q[t] [heads * head_dim] (rotated) at
    /// positions past + t, over the cached positions [0, past + t]; [t][heads * head_dim]. KV heads run in parallel.
    /// </summary>
    internal double[][] Attend(int layer, double[][] q, int past)
    {
        int n = q.Length, hd = _model.HeadDim, group = _model.Heads / _model.KvHeads, stride = RoundedCapacity;
        var output = q.Select(_ => new double[_model.Heads * hd]).ToArray();
        var scale = 1 / Math.Sqrt(hd);
        Parallel.For(0, _model.KvHeads, g =>
        {
            var keys = _keys[(layer * _model.KvHeads) + g];
            var values = _values[(layer * _model.KvHeads) + g];
            var rows = n * group; // row r: token r / group, query head g * group + r % group
            var scores = _scores[g] is { } s && s.Length >= rows * stride ? s : _scores[g] = new double[rows * stride];
            int Token(int r) => r / group;
            int QueryOffset(int r) => ((g * group) + (r % group)) * hd;
            int Visible(int r) => past + Token(r) + 1; // causal: positions [0, past + t]

            // Scores: 32 keys (4 blocks of 8) at a time, each group of blocks read once for every row of the chunk.
            var groups = (past + n + KeyGroup - 1) / KeyGroup;
            for (var b = 0; b < groups; b++)
            {
                ref var block = ref keys[b * hd * KeyGroup];
                for (var r = 0; r < rows; r++)
                {
                    if (b * KeyGroup < Visible(r))
                    {
                        ScoreKeyGroup(ref q[Token(r)][QueryOffset(r)], ref block, hd, ref scores[(r * stride) + (b * KeyGroup)]);
                    }
                }
            }

            // Softmax numerators exp((s - max) / sqrt(d)) over the visible positions; the sum divides at the end.
            var sums = new double[rows];
            for (var r = 0; r < rows; r++)
            {
                var row = scores.AsSpan(r * stride, Visible(r));
                TensorPrimitives.Subtract(row, TensorPrimitives.Max(row), row);
                TensorPrimitives.Multiply(row, scale, row);
                TensorPrimitives.Exp(row, row);
                sums[r] = TensorPrimitives.Sum(row);
            }

            // Weighted sum of values, a tile of positions at a time.
            for (var start = 0; start < past + n; start += ValueTile)
            {
                for (var r = 0; r < rows; r++)
                {
                    var end = Math.Min(start + ValueTile, Visible(r));
                    if (start < end)
                    {
                        AccumulateValues(scores.AsSpan((r * stride) + start, end - start), ref values[start * hd], hd, output[Token(r)].AsSpan(QueryOffset(r), hd));
                    }
                }
            }
            for (var r = 0; r < rows; r++)
            {
                TensorPrimitives.Divide(output[Token(r)].AsSpan(QueryOffset(r), hd), sums[r], output[Token(r)].AsSpan(QueryOffset(r), hd));
            }
        });
        return output;
    }

    /// <summary>
    /// dst[j] = q . key_j for the 32 keys of 4 consecutive blocks at <paramref name="keys"/> ([4][head_dim][8]): one
    /// FMA per dimension and block, four independent sums so that the FMA latency overlaps.
    /// </summary>
    private static void ScoreKeyGroup(ref double q, ref double keys, int hd, ref double dst)
    {
        var size = (nuint)(hd * Lanes);
        Vector512<double> a0 = default, a1 = default, a2 = default, a3 = default;
        for (nuint d = 0; d < (nuint)hd; d++)
        {
            var qd = Vector512.Create(Unsafe.Add(ref q, d));
            a0 = Vector512.FusedMultiplyAdd(qd, Vector512.LoadUnsafe(ref keys, (d * Lanes)), a0);
            a1 = Vector512.FusedMultiplyAdd(qd, Vector512.LoadUnsafe(ref keys, size + (d * Lanes)), a1);
            a2 = Vector512.FusedMultiplyAdd(qd, Vector512.LoadUnsafe(ref keys, (2 * size) + (d * Lanes)), a2);
            a3 = Vector512.FusedMultiplyAdd(qd, Vector512.LoadUnsafe(ref keys, (3 * size) + (d * Lanes)), a3);
        }
        a0.StoreUnsafe(ref dst, 0);
        a1.StoreUnsafe(ref dst, Lanes);
        a2.StoreUnsafe(ref dst, 2 * Lanes);
        a3.StoreUnsafe(ref dst, 3 * Lanes);
    }

    /// <summary>result += sum_p weights[p] * value_p for the values [p][head_dim] at <paramref name="values"/>, 8 dimensions per vector, four positions in flight.</summary>
    private static void AccumulateValues(ReadOnlySpan<double> weights, ref double values, int hd, Span<double> result)
    {
        for (var c = 0; c < hd; c += Lanes)
        {
            Vector512<double> a0 = default, a1 = default, a2 = default, a3 = default;
            var p = 0;
            for (; p + 4 <= weights.Length; p += 4)
            {
                a0 = Vector512.FusedMultiplyAdd(Vector512.Create(weights[p]), Vector512.LoadUnsafe(ref values, (nuint)((p * hd) + c)), a0);
                a1 = Vector512.FusedMultiplyAdd(Vector512.Create(weights[p + 1]), Vector512.LoadUnsafe(ref values, (nuint)(((p + 1) * hd) + c)), a1);
                a2 = Vector512.FusedMultiplyAdd(Vector512.Create(weights[p + 2]), Vector512.LoadUnsafe(ref values, (nuint)(((p + 2) * hd) + c)), a2);
                a3 = Vector512.FusedMultiplyAdd(Vector512.Create(weights[p + 3]), Vector512.LoadUnsafe(ref values, (nuint)(((p + 3) * hd) + c)), a3);
            }
            for (; p < weights.Length; p++)
            {
                a0 = Vector512.FusedMultiplyAdd(Vector512.Create(weights[p]), Vector512.LoadUnsafe(ref values, (nuint)((p * hd) + c)), a0);
            }
            var sum = Vector512.Create<double>(result.Slice(c, Lanes)) + ((a0 + a1) + (a2 + a3));
            sum.CopyTo(result.Slice(c, Lanes));
        }
    }
}
