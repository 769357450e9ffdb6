using Qwen.Inference.Engine;
using Qwen.Inference.Sampling;

namespace Qwen.Bench.Parity;

/// <summary>
/// Compares a candidate engine (another execution provider, precision or input binding mode) with a reference engine on
/// the same checkpoint. The reference serves each prompt alone, one request at a time; the candidate serves the same
/// prompts in three arrival patterns that exercise its scheduler: sequential (each prompt twice in a row: slot reuse and
/// repeat stability), all at once (more requests than slots, different max_tokens, so the decode batch shrinks as
/// requests end and freed slots are taken) and staggered (each request submitted once the previous one has streamed two
/// tokens, so requests join a running batch). Greedy, no penalties, no stop ids: a candidate request of max_tokens m must
/// reproduce the first m tokens of the reference's continuation.
/// Random weights often repeat one token, so equal tokens prove little on their own: the logprobs at every position
/// before a divergence are compared too: the chosen token's (the figure the first GPU run measured) and, separately, the
/// alternatives both sides report, matched by id. The alternatives' logprobs are larger in magnitude (about -5 to -15 on
/// random weights), and fp16's rounding grows with magnitude, so they get a bound of their own.
/// </summary>
internal static class ParityCheck
{
    /// <summary>Shortest prompt, in tokens.</summary>
    public const int MinPromptLength = 8;

    /// <summary>Longest prompt, in tokens (when the engines hold that much).</summary>
    public const int MaxPromptLength = 200;

    /// <summary>Alternatives reported per position besides the chosen token: on random weights the chosen token's logprob is often near 0, theirs is not.</summary>
    public const int TopLogprobs = 4;

    /// <summary>Tokens a staggered request streams before the next one is submitted.</summary>
    private const int StaggerTokens = 2;

    /// <summary>Ids drawn for prompts: Qwen2.5's regular tokens (151,643; the added ones follow).</summary>
    private const int RegularTokens = 151_643;

    /// <summary>
    /// Requests of the all-at-once and staggered scenarios on an engine with <paramref name="slots"/> slots: every prompt,
    /// repeated until there are more requests than slots. The candidate's MaxWaiting must cover them.
    /// </summary>
    public static int BatchRequests(int prompts, int slots) => (slots / prompts + 1) * prompts;

    /// <summary>
    /// <paramref name="count"/> seeded prompts, lengths spread evenly over [<see cref="MinPromptLength"/>,
    /// <paramref name="maxLength"/>] in shuffled order (so consecutive prompts differ in length), ids below
    /// <paramref name="vocabSize"/>.
    /// </summary>
    public static int[][] Prompts(int count, int maxLength, int vocabSize, int seed)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxLength, MinPromptLength);
        var random = new Random(seed);
        var lengths = Enumerable.Range(0, count).Select(i => count == 1 ? maxLength : MinPromptLength + ((maxLength - MinPromptLength) * i / (count - 1))).ToArray();
        random.Shuffle(lengths);
        var ids = Math.Min(vocabSize, RegularTokens);
        return lengths.Select(n => Enumerable.Range(0, n).Select(_ => random.Next(ids)).ToArray()).ToArray();
    }

    /// <summary>
    /// Runs the reference, then the three scenarios on the candidate, and compares. <paramref name="prompts"/> prompts of
    /// <paramref name="tokens"/> new tokens each; the prompts are capped so prompt plus output fit both engines.
    /// </summary>
    public static async Task<ParityReport> RunAsync(InferenceEngine candidate, InferenceEngine reference, int prompts, int tokens, double tolerance, double alternativesTolerance, int seed, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(candidate);
        ArgumentNullException.ThrowIfNull(reference);
        ArgumentOutOfRangeException.ThrowIfLessThan(tokens, 1);
        var maxLength = Math.Min(MaxPromptLength, Math.Min(candidate.MaxModelLen, reference.MaxModelLen) - tokens);
        if (maxLength < MinPromptLength)
        {
            throw new ArgumentException($"prompts of at least {MinPromptLength} tokens plus {tokens} new tokens must fit max-model-len (candidate {candidate.MaxModelLen}, reference {reference.MaxModelLen})", nameof(tokens));
        }
        var batch = BatchRequests(prompts, candidate.Info.Slots);
        if (candidate.Options.MaxWaiting < batch - candidate.Info.Slots)
        {
            throw new ArgumentException($"the candidate's MaxWaiting must be at least {batch - candidate.Info.Slots} for {batch} requests at once on {candidate.Info.Slots} slots (given {candidate.Options.MaxWaiting})", nameof(candidate));
        }
        var ids = Prompts(prompts, maxLength, Math.Min(candidate.Info.VocabSize, reference.Info.VocabSize), seed);

        var expected = new GeneratedToken[ids.Length][];
        for (var p = 0; p < ids.Length; p++)
        {
            expected[p] = await CollectAsync(reference, Request(ids[p], tokens), null, cancellationToken).ConfigureAwait(false);
        }

        var sequential = new List<(int Prompt, int MaxTokens, GeneratedToken[] Tokens)>();
        for (var p = 0; p < ids.Length; p++)
        {
            for (var repeat = 0; repeat < 2; repeat++)
            {
                sequential.Add((p, tokens, await CollectAsync(candidate, Request(ids[p], tokens), null, cancellationToken).ConfigureAwait(false)));
            }
        }

        // The same requests for both batched scenarios: max_tokens cycles through 4/4, 3/4, 2/4 and 1/4 of tokens.
        var requests = Enumerable.Range(0, batch).Select(r => (Prompt: r % ids.Length, MaxTokens: Math.Max(1, tokens - (r % 4 * tokens / 4)))).ToArray();
        var together = await Task.WhenAll(requests.Select(r => CollectAsync(candidate, Request(ids[r.Prompt], r.MaxTokens), null, cancellationToken))).ConfigureAwait(false);

        var staggered = new Task<GeneratedToken[]>[requests.Length];
        for (var r = 0; r < requests.Length; r++)
        {
            var streaming = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            staggered[r] = CollectAsync(candidate, Request(ids[requests[r].Prompt], requests[r].MaxTokens), streaming, cancellationToken);
            await streaming.Task.ConfigureAwait(false);
        }
        var late = await Task.WhenAll(staggered).ConfigureAwait(false);

        return new ParityReport(
        [
            Compare("sequential", sequential, expected),
            Compare("all-at-once", requests.Select((r, i) => (r.Prompt, r.MaxTokens, together[i])).ToList(), expected),
            Compare("staggered", requests.Select((r, i) => (r.Prompt, r.MaxTokens, late[i])).ToList(), expected),
        ], tolerance, alternativesTolerance);
    }

    /// <summary>Compares each run with the first MaxTokens tokens of its prompt's reference continuation.</summary>
    internal static ScenarioResult Compare(string name, IReadOnlyList<(int Prompt, int MaxTokens, GeneratedToken[] Tokens)> runs, IReadOnlyList<GeneratedToken[]> expected)
    {
        var equal = 0;
        var total = 0;
        var worst = 0.0;
        var worstAlternative = 0.0;
        var divergences = new List<TokenDivergence>();
        for (var r = 0; r < runs.Count; r++)
        {
            var (prompt, maxTokens, got) = runs[r];
            var want = expected[prompt].AsSpan(0, Math.Min(expected[prompt].Length, maxTokens));
            var k = 0;
            while (k < want.Length && k < got.Length && got[k].TokenId == want[k].TokenId)
            {
                // Math.Max propagates NaN: a NaN logprob fails the check.
                worst = Math.Max(worst, Math.Abs((double)want[k].Logprob!.Value - got[k].Logprob!.Value));
                worstAlternative = Math.Max(worstAlternative, MaxAlternativeDiff(want[k], got[k]));
                k++;
            }
            equal += k;
            total += want.Length;
            if (k < want.Length && k < got.Length)
            {
                var (reference, chosen) = (want[k], got[k].TokenId);
                var margin = reference.TopLogprobs!.Where(a => a.TokenId == chosen).Select(a => (double?)(reference.Logprob!.Value - a.Logprob)).FirstOrDefault();
                divergences.Add(new TokenDivergence(r, prompt, k, margin));
            }
            else if (k < want.Length || got.Length > want.Length)
            {
                divergences.Add(new TokenDivergence(r, prompt, k));
            }
        }
        return new ScenarioResult(name, runs.Count, equal, total, divergences, worst, worstAlternative);
    }

    /// <summary>Largest |Δlogprob| of the alternatives both sides reported, matched by id (the chosen token among them too).</summary>
    private static double MaxAlternativeDiff(GeneratedToken want, GeneratedToken got)
    {
        var worst = 0.0;
        foreach (var alternative in want.TopLogprobs!)
        {
            foreach (var other in got.TopLogprobs!)
            {
                if (other.TokenId == alternative.TokenId)
                {
                    worst = Math.Max(worst, Math.Abs((double)alternative.Logprob - other.Logprob));
                }
            }
        }
        return worst;
    }

    private static GenerationRequest Request(int[] prompt, int maxTokens)
        => new(prompt, new SamplingParams { Temperature = 0, RepetitionPenalty = 1, TopLogprobs = TopLogprobs }, maxTokens, []);

    /// <summary>Streams one request to the end; <paramref name="streaming"/> (if any) completes after <see cref="StaggerTokens"/> tokens or at the end.</summary>
    private static async Task<GeneratedToken[]> CollectAsync(InferenceEngine engine, GenerationRequest request, TaskCompletionSource? streaming, CancellationToken cancellationToken)
    {
        var tokens = new List<GeneratedToken>();
        try
        {
            await foreach (var token in engine.GenerateAsync(request, cancellationToken).ConfigureAwait(false))
            {
                tokens.Add(token);
                if (tokens.Count == StaggerTokens)
                {
                    streaming?.TrySetResult();
                }
            }
        }
        finally
        {
            streaming?.TrySetResult();
        }
        return [.. tokens];
    }
}
