using Qwen.Inference.Sampling;
using Xunit.Abstractions;

namespace Qwen.Inference.Tests.Sampling;

/// <summary>
/// Sampling from a row's top-K candidates against the full-row path, on twins: the same row, parameters, history,
/// generator and constraint, one twin sampled by <see cref="Sampler.TrySample"/>, the other by
/// <see cref="Sampler.TrySampleCandidates"/> on candidates a naive reference computes (a full sort by value, then id).
/// Whatever the candidate path returns must be the full path's result, and a NeedsFullRow must leave the twin untouched.
/// </summary>
public sealed class SamplerCandidateTests(ITestOutputHelper output)
{
    private const int Cases = 3000;
    private const int StepsPerCase = 3;
    private const int MaxVocab = 151_936;

    // Logprobs: the candidate path subtracts the reference's log-sum-exp (double, rounded to float; ONNX Runtime's
    // ReduceLogSumExp rounds its own way), the full path its float LogSumExp. The largest difference over these cases was
    // 5.7e-6 (printed by the test; log-sum-exps up to about 20, so about 3e-7 relative); 2e-5 leaves room for both sides.
    private const float LogprobTolerance = 2e-5f;

    [Fact]
    public void TrySampleCandidates_RandomRowsAndSettings_SameAsTheFullRowOrNothingChanged()
    {
        var tally = new Tally();
        for (var c = 0; c < Cases; c++)
        {
            RunCase(c, tiesAtKth: false, tally);
        }
        tally.Print(output);
        // Where the issue says candidates must decide, they did: every such row, not just most.
        foreach (var (category, counts) in tally.Where("exact"))
        {
            Assert.True(counts[1] == 0, $"{category}: {counts[1]} rows needed the full row");
            Assert.True(counts[0] > 20, $"{category}: only {counts[0]} rows");
        }
        Assert.All(tally.Where("never"), t => Assert.True(t.Value[0] == 0, t.Key));
        // Lowering penalties and dense constraints usually stay on candidates too (the rows that cannot are shown above).
        Assert.All(tally.Where("mostly"), t => Assert.True(t.Value[0] > t.Value[1], t.Key));
    }

    [Fact]
    public void TrySampleCandidates_PenaltiesOntoTheKthValueTie_SameAsTheFullRowOrNothingChanged()
    {
        // Rows of tiers of equal values with the K-th value inside one; penalties of exactly one tier; constraints that
        // allow only tokens outside the candidates and one penalised token. This is where a candidate lowered onto the K-th
        // value meets outside tokens of that value with lower ids (the rule that treats it as unsafe fails here without it).
        var tally = new Tally();
        for (var c = 0; c < Cases / 3; c++)
        {
            RunCase(1_000_000 + c, tiesAtKth: true, tally);
        }
        tally.Print(output);
        Assert.True(tally.Where("").Sum(t => t.Value[0]) > 100 && tally.Where("").Sum(t => t.Value[1]) > 100, "both outcomes occur");
    }

    [Fact]
    public void TrySampleCandidates_PenaltyLowersACandidateOntoTheKthValue_NeedsFullRow()
    {
        // Raw row [5, 3, 3, 4, 1], K = 3: candidates (5, id 0), (4, id 3), (3, id 1); token 2 (3) is outside. A presence
        // penalty of 1 on token 3 makes the row [5, 3, 3, 3, 1]; with 0 and 1 disallowed, greedy's best allowed token is 2
        // (equal values: lowest id), which the candidates do not hold. Token 3 ties with an outside token of lower id.
        float[] row = [5f, 3f, 3f, 4f, 1f];
        float[] raw = [.. row];
        var p = new SamplingParams { PresencePenalty = 1f };
        var full = Twin(p, row.Length);
        var candidates = Twin(p, row.Length);
        Assert.True(new Sampler(5).TrySample(row, full.State, full.Constraint, 4, out var expected));
        Assert.Equal(2, expected.TokenId);

        var logSumExp = (float)Math.Log(raw.Sum(x => Math.Exp(x)));
        var outcome = new Sampler(5).TrySampleCandidates(new CandidateRow([5f, 4f, 3f], [0, 3, 1], logSumExp), candidates.State, candidates.Constraint, 4, out _);
        Assert.Equal(CandidateOutcome.NeedsFullRow, outcome);
        Assert.Empty(candidates.Constraint.Accepted);
        Assert.Equal([3], candidates.State.OutputTokenIds.ToArray()); // the history alone

        static (SamplingState State, ScriptedConstraint Constraint) Twin(SamplingParams p, int vocab)
        {
            var state = new SamplingState(p, [], vocab);
            state.Record(3);
            return (state, new ScriptedConstraint((_, id) => id > 1));
        }
    }

    public static TheoryData<string, SamplingParams, bool> Settings => new()
    {
        { "greedy", new SamplingParams(), true },
        { "greedy ignores top_k and top_p", new SamplingParams { TopK = 1000, TopP = 0.5f }, true },
        { "top_k = K", new SamplingParams { Temperature = 0.7f, TopK = 64, TopP = 0.8f, MinP = 0.1f }, true },
        { "top_k > K", new SamplingParams { Temperature = 0.7f, TopK = 65 }, false },
        { "top_p without top_k", new SamplingParams { Temperature = 0.7f, TopP = 0.8f }, false },
        { "min_p without top_k", new SamplingParams { Temperature = 0.7f, MinP = 0.1f }, false },
        { "qwen defaults", new SamplingParams { Temperature = 0.7f, TopK = 20, TopP = 0.8f, RepetitionPenalty = 1.05f }, true },
        { "repetition below 1", new SamplingParams { RepetitionPenalty = 0.95f }, false },
        { "negative presence", new SamplingParams { PresencePenalty = -0.1f }, false },
        { "negative frequency", new SamplingParams { FrequencyPenalty = -0.1f }, false },
        { "positive presence and frequency", new SamplingParams { PresencePenalty = 0.5f, FrequencyPenalty = 0.5f }, true },
        { "negative bias", new SamplingParams { LogitBias = new Dictionary<int, float> { [3] = -100f, [4] = 0f } }, true },
        { "positive bias", new SamplingParams { LogitBias = new Dictionary<int, float> { [3] = -100f, [4] = 0.5f } }, false },
        { "top_logprobs 20", new SamplingParams { TopLogprobs = 20 }, true },
        { "top_logprobs > K", new SamplingParams { TopLogprobs = 20, Temperature = 1f, TopK = 10 }, false }, // checked with K = 16 below
        { "logprobs with a penalty", new SamplingParams { TopLogprobs = 0, RepetitionPenalty = 1.05f }, false },
        { "logprobs with a bias", new SamplingParams { TopLogprobs = 1, LogitBias = new Dictionary<int, float> { [3] = -1f } }, false },
    };

    [Theory]
    [MemberData(nameof(Settings))]
    public void MayUseCandidates_Setting_FollowsTheRule(string name, SamplingParams p, bool expected)
    {
        Assert.True(expected == Sampler.MayUseCandidates(p, name == "top_logprobs > K" ? 16 : 64), name);
    }

    private static void RunCase(int seed, bool tiesAtKth, Tally tally)
    {
        var random = new Random(seed);
        var vocab = random.Next(200) == 0 ? MaxVocab : random.Next(2000, 5000);
        var k = new[] { 20, 32, 64 }[random.Next(3)];
        var baseRow = RandomRow(random, vocab, k, tiers: tiesAtKth || random.Next(4) == 0);
        var top = Reference(baseRow, 2 * k).Ids;
        int Token() => random.Next(3) == 0 ? random.Next(vocab) : top[random.Next(tiesAtKth ? k : top.Length)]; // often among the candidates

        var p = tiesAtKth ? TierParams(random) : RandomParams(random, k, Token);
        var prompt = Enumerable.Range(0, random.Next(0, 50)).Select(_ => Token()).ToArray();
        var history = Enumerable.Range(0, random.Next(0, 6)).Select(_ => Token()).ToArray();
        var (allowed, constraint) = RandomAllowed(random, vocab, top[..k], [.. prompt, .. history], tiesAtKth);
        var noneAllowedId = random.Next(vocab);
        var full = new Twin(p, prompt, history, vocab, allowed);
        var candidates = new Twin(p, prompt, history, vocab, allowed);
        var category = Category(p, k, constraint, baseRow);
        Assert.True(Sampler.MayUseCandidates(p, k) == !category.StartsWith("never", StringComparison.Ordinal), $"case {seed}: MayUseCandidates");

        var row = baseRow;
        for (var step = 0; step < StepsPerCase; step++)
        {
            var (values, ids, logSumExp) = Reference(row, k);
            var fullSampled = tally.FullSampler.TrySample((float[])row.Clone(), full.State, full.Constraint, noneAllowedId, out var expected);
            var before = candidates.Describe();
            var outcome = tally.CandidateSampler.TrySampleCandidates(new CandidateRow(values, ids, logSumExp), candidates.State, candidates.Constraint, noneAllowedId, out var token);
            var where = $"case {seed} step {step} ({category}, K {k}, {p})";
            tally.Count(category, outcome);
            if (outcome == CandidateOutcome.NeedsFullRow)
            {
                // Nothing changed, so the full row on this twin gives exactly the other twin's result.
                Assert.True(before == candidates.Describe(), $"{where}: NeedsFullRow changed the twin");
                var again = tally.CandidateSampler.TrySample((float[])row.Clone(), candidates.State, candidates.Constraint, noneAllowedId, out token);
                Assert.True(fullSampled == again && SameToken(expected, token, 0f), $"{where}: the full row after NeedsFullRow gave {Show(token)}, not {Show(expected)}");
            }
            else
            {
                Assert.True(fullSampled == (outcome == CandidateOutcome.Sampled), $"{where}: {outcome} where the full row gave {fullSampled}");
                Assert.True(SameToken(expected, token, LogprobTolerance), $"{where}: {Show(token)}, full row {Show(expected)}");
                tally.LargestLogprobError = Math.Max(tally.LargestLogprobError, LogprobError(expected, token));
            }
            Assert.True(full.Describe() == candidates.Describe(), $"{where}: twins differ afterwards");
            if (!fullSampled)
            {
                break;
            }
            row = Perturb(random, baseRow);
        }
        Assert.Equal(full.State.Random.NextDouble(), candidates.State.Random.NextDouble());
    }

    /// <summary>
    /// The category a case counts under: "exact" ones must always be sampled from candidates, "never" ones never,
    /// "mostly" ones more often than not; "sometimes" ones are only shown.
    /// </summary>
    private static string Category(SamplingParams p, int k, string constraint, float[] row)
    {
        var raises = (p.LogitBias?.Values.Any(b => b > 0) ?? false) || p.RepetitionPenalty < 1 || p.PresencePenalty < 0 || p.FrequencyPenalty < 0;
        var penalised = p.LogitBias is { Count: > 0 } || p.RepetitionPenalty != 1 || p.PresencePenalty != 0 || p.FrequencyPenalty != 0;
        var wholeVocabulary = p.Temperature > 0 && (p.TopK == 0 || p.TopK > k);
        if (raises || wholeVocabulary || (p.TopLogprobs is not null && penalised))
        {
            return "never: " + (raises ? "a penalty may raise a token" : wholeVocabulary ? "draws over the whole vocabulary" : "logprobs with penalties");
        }
        var kind = p.Temperature == 0 ? "greedy" : p.TopK == k ? "top_k = K" : "top_k < K";
        var what = string.Join(", ", new[] { penalised ? "lowering penalties" : "no penalties", constraint }.Where(s => s.Length > 0));
        if (row.Count(float.IsFinite) < k)
        {
            return $"sometimes: {kind}, fewer than K finite logits";
        }
        if (!penalised && constraint.Length == 0)
        {
            return $"exact: {kind}, {what}{(p.TopLogprobs is null ? "" : ", logprobs")}";
        }
        // A penalty on any candidate leaves top_k = K undecidable, and a sparse constraint rarely has k allowed candidates.
        return (kind == "top_k = K" && penalised) || constraint.StartsWith("sparse", StringComparison.Ordinal) ? $"sometimes: {kind}, {what}" : $"mostly: {kind}, {what}";
    }

    private static string Show(SampledToken t)
        => $"token {t.TokenId} ({t.Logprob}) top [{string.Join(", ", (t.TopLogprobs ?? []).Select(l => $"{l.TokenId} {l.Logprob}"))}]";

    private static bool SameToken(SampledToken expected, SampledToken actual, float tolerance)
    {
        if (expected.TokenId != actual.TokenId || expected.Logprob.HasValue != actual.Logprob.HasValue || (expected.TopLogprobs is null) != (actual.TopLogprobs is null))
        {
            return false;
        }
        if (expected.TopLogprobs is { } e && !e.Select(t => t.TokenId).SequenceEqual(actual.TopLogprobs!.Select(t => t.TokenId)))
        {
            return false;
        }
        return LogprobError(expected, actual) <= tolerance;
    }

    private static float LogprobError(SampledToken expected, SampledToken actual)
    {
        var error = expected.Logprob is { } l ? Difference(l, actual.Logprob!.Value) : 0f;
        foreach (var (e, a) in (expected.TopLogprobs ?? []).Zip(actual.TopLogprobs ?? []))
        {
            error = Math.Max(error, Difference(e.Logprob, a.Logprob));
        }
        return error;

        // A token the constraint cannot reach may have logprob -inf on both sides (NoneAllowed's stop id).
        static float Difference(float a, float b) => a == b ? 0f : Math.Abs(a - b);
    }

    /// <summary>
    /// The naive reference of the candidates graph: sort the whole row by value (descending), then id (ascending, the
    /// ONNX TopK tie rule); take k; log-sum-exp in double. The sort is of one 64-bit key per token: the value's bits mapped
    /// so that unsigned order is value order (negatives inverted, positives with the sign bit set), complemented for
    /// descending, above the id. The rows hold no -0, the one value whose key differs from an equal value's (+0).
    /// </summary>
    private static (float[] Values, int[] Ids, float LogSumExp) Reference(float[] row, int k)
    {
        var keys = new ulong[row.Length];
        for (var i = 0; i < row.Length; i++)
        {
            var bits = BitConverter.SingleToUInt32Bits(row[i]);
            var ordered = (bits & 0x8000_0000u) != 0 ? ~bits : bits | 0x8000_0000u;
            keys[i] = ((ulong)~ordered << 32) | (uint)i;
        }
        Array.Sort(keys);
        var ids = keys[..k].Select(key => (int)(uint)key).ToArray();
        var max = (double)row.Max();
        var sum = row.Sum(x => Math.Exp(x - max));
        return ([.. ids.Select(i => row[i])], ids, (float)(max + Math.Log(sum)));
    }

    /// <summary>A row of logits: continuous or quantized (ties everywhere, also at the K-th value), sometimes flat, with a few -inf, or with fewer than K finite.</summary>
    private static float[] RandomRow(Random random, int vocab, int k, bool tiers)
    {
        var sigma = new[] { 1f, 2.5f, 5f }[random.Next(3)];
        var steps = new[] { 0f, 0f, 1f, 2f, 4f }[random.Next(5)]; // values per unit when quantized; 0: continuous
        var flat = random.Next(50) == 0;
        var row = new float[vocab];
        for (var i = 0; i < vocab; i++)
        {
            var x = flat ? 1.5f : (float)(Gaussian(random) * sigma);
            row[i] = steps > 0 ? (MathF.Round(x * steps) / steps) + 0f : x; // + 0f: no -0 (greedy's ties compare ±0 as equal, TensorPrimitives.Max does not)
        }
        if (tiers)
        {
            // Tiers: about k/4 tokens at 3, k/2 at 2, 2k at 1 and the rest below, so the K-th value sits inside a tier of
            // equal values that goes on outside the candidates, and penalties of 1 (or a repetition penalty of 2) move a
            // token from one tier exactly onto the next.
            for (var i = 0; i < vocab; i++)
            {
                var u = random.Next(vocab);
                row[i] = u < k / 4 ? 3f : u < 3 * k / 4 ? 2f : u < 11 * k / 4 ? 1f : -MathF.Round((float)random.NextDouble() * 4);
            }
        }
        for (var i = random.Next(0, 40); i > 0; i--)
        {
            row[random.Next(vocab)] += 6 + (steps > 0 ? random.Next(8) : (float)random.NextDouble() * 8); // a heavier head
        }
        switch (random.Next(20))
        {
            case 0:
                for (var i = vocab / 100; i > 0; i--)
                {
                    row[random.Next(vocab)] = float.NegativeInfinity;
                }
                break;
            case 1:
                Array.Fill(row, float.NegativeInfinity, 0, vocab - random.Next(1, k)); // fewer than K finite values
                break;
            default:
                break;
        }
        return row;
    }

    /// <summary>The next step's row: the base row with a few values redrawn, so earlier tokens stay near the top.</summary>
    private static float[] Perturb(Random random, float[] row)
    {
        var next = (float[])row.Clone();
        for (var i = 0; i < 20; i++)
        {
            var j = random.Next(next.Length);
            if (float.IsFinite(next[j]))
            {
                next[j] += random.Next(-4, 5) * 0.5f;
            }
        }
        return next;
    }

    /// <summary>Random settings; a quarter of the penalised ones include one adjustment that may raise a token.</summary>
    private static SamplingParams RandomParams(Random random, int k, Func<int> token)
    {
        T Pick<T>(params T[] options) => options[random.Next(options.Length)];
        var penalised = random.Next(5) >= 2;
        var raising = penalised && random.Next(4) == 0 ? random.Next(4) : -1; // 0 repetition, 1 presence, 2 frequency, 3 bias
        Dictionary<int, float>? bias = null;
        if (raising == 3 || (penalised && random.Next(3) == 0))
        {
            bias = Enumerable.Range(0, random.Next(1, 6)).Select(_ => token()).Distinct().ToDictionary(id => id, _ => Pick(-100f, -2f, -1f, -0.5f, 0f));
            bias[token()] = raising == 3 ? Pick(0.5f, 3f) : -1f;
        }
        return new SamplingParams
        {
            Temperature = random.Next(5) < 2 ? 0f : Pick(0.3f, 0.7f, 1f, 1.5f),
            TopK = random.Next(10) switch
            {
                0 or 1 => 0,
                2 => k,
                3 => random.Next(k + 1, 2 * k),
                _ => random.Next(1, k),
            },
            TopP = Pick(1f, 1f, 0.3f, 0.8f, 0.95f),
            MinP = Pick(0f, 0f, 0f, 0.05f, 0.3f),
            RepetitionPenalty = penalised ? (raising == 0 ? 0.9f : Pick(1f, 1.05f, 1.3f, 2f)) : 1f,
            PresencePenalty = penalised ? (raising == 1 ? -0.5f : Pick(0f, 0f, 0.5f, 1f)) : 0f,
            FrequencyPenalty = penalised ? (raising == 2 ? -0.25f : Pick(0f, 0f, 0.25f, 0.5f)) : 0f,
            LogitBias = bias,
            Seed = (ulong)random.NextInt64(),
            TopLogprobs = random.Next(2) == 0 ? null : Pick(0, 1, 5, 20, random.Next(21)),
        };
    }

    /// <summary>Greedy or top_k up to 20 (K is at least that); penalties that move a token exactly one tier down.</summary>
    private static SamplingParams TierParams(Random random)
    {
        var repetition = random.Next(2) == 0 ? 1f : 2f; // 2 -> 1
        return new SamplingParams
        {
            Temperature = random.Next(2) == 0 ? 0f : 1.5f,
            TopK = random.Next(1, 21),
            RepetitionPenalty = repetition,
            PresencePenalty = repetition == 1f || random.Next(2) == 0 ? 1f : 0f, // 3 -> 2, 2 -> 1
            FrequencyPenalty = random.Next(3) == 0 ? 0.5f : 0f,
            Seed = (ulong)random.NextInt64(),
        };
    }

    /// <summary>
    /// No constraint half the time (a third for ties); else which ids are allowed: "dense" (at least half of them),
    /// "sparse" (a tenth or fewer, or none), or only the ids outside the candidates, which the candidates can never
    /// decide, save one penalised token (always, for ties: then that token, lowered onto the K-th value, meets outside
    /// tokens of that value).
    /// </summary>
    private static (bool[]? Allowed, string Kind) RandomAllowed(Random random, int vocab, int[] candidates, int[] penalised, bool tiesAtKth)
    {
        if (random.Next(tiesAtKth ? 3 : 2) == 0)
        {
            return (null, "");
        }
        if (tiesAtKth || random.Next(4) == 0)
        {
            var outside = new bool[vocab];
            Array.Fill(outside, true);
            foreach (var id in candidates)
            {
                outside[id] = false;
            }
            if (penalised.Length > 0 && random.Next(tiesAtKth ? 1 : 2) == 0)
            {
                outside[penalised[random.Next(penalised.Length)]] = true;
            }
            return (outside, "sparse constraint");
        }
        var density = new[] { 1.0, 0.8, 0.5, 0.1, 0.01, 0 }[random.Next(6)];
        return ([.. Enumerable.Range(0, vocab).Select(_ => random.NextDouble() < density)], density >= 0.5 ? "dense constraint" : "sparse constraint");
    }

    private static double Gaussian(Random random)
        => Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());

    /// <summary>The two samplers (one per twin, as one per thread) and what the cases found.</summary>
    private sealed class Tally
    {
        private readonly SortedDictionary<string, int[]> _counts = new(StringComparer.Ordinal); // category -> [sampled, needs full row]

        public Sampler FullSampler { get; } = new(MaxVocab);

        public Sampler CandidateSampler { get; } = new(MaxVocab);

        public float LargestLogprobError { get; set; }

        public void Count(string category, CandidateOutcome outcome)
        {
            _counts.TryAdd(category, new int[2]);
            _counts[category][outcome == CandidateOutcome.NeedsFullRow ? 1 : 0]++;
        }

        public IEnumerable<KeyValuePair<string, int[]>> Where(string prefix) => _counts.Where(c => c.Key.StartsWith(prefix, StringComparison.Ordinal));

        public void Print(ITestOutputHelper output)
        {
            foreach (var (category, counts) in _counts)
            {
                output.WriteLine($"{category,-60} sampled {counts[0],5}  full row {counts[1],5}");
            }
            output.WriteLine($"largest logprob difference: {LargestLogprobError:E2}");
        }
    }

    /// <summary>One of two identically built sequences: state with the same prompt and history, its own constraint.</summary>
    private sealed class Twin
    {
        public Twin(SamplingParams p, int[] prompt, int[] history, int vocab, bool[]? allowed)
        {
            State = new SamplingState(p, prompt, vocab);
            foreach (var t in history)
            {
                State.Record(t);
            }
            Constraint = allowed is null ? null : new ScriptedConstraint((_, id) => allowed[id]);
        }

        public SamplingState State { get; }

        public ScriptedConstraint? Constraint { get; }

        /// <summary>Everything sampling may change: the generator, the recorded tokens, the accepted ones.</summary>
        public string Describe()
            => $"{State.Random.Save()} | seen {string.Join(',', State.SeenTokens.ToArray())} | out {string.Join(',', State.OutputTokenIds.ToArray())}"
                + $" x {string.Join(',', State.OutputCounts.ToArray())} | accepted {string.Join(',', Constraint?.Accepted ?? [])}";
    }
}
