using Qwen.Bench.Parity;
using Qwen.Inference.Engine;
using Qwen.Inference.Model;
using Qwen.OnnxExport;
using Xunit.Abstractions;

namespace Qwen.Bench.Tests.Parity;

/// <summary>
/// The parity check on the tiny preset, CPU only: it passes what is right (fp16 against fp32, the same weights in
/// copy-at-bind mode) and fails what is wrong (other weights, a decode that replays its first step's inputs).
/// </summary>
public sealed class ParityCheckTests(ITestOutputHelper output)
{
    private const int Prompts = 4;
    private const int Tokens = 8;
    private const double Tolerance = 0.05;
    private const double AlternativesTolerance = 0.1;

    // 2 slots for 4 prompts: the batched scenarios queue requests and reuse freed slots; chunks of 16 split most prompts.
    private static readonly EngineOptions Candidate = new() { MaxNumSeqs = 2, MaxModelLen = 64, MaxWaiting = 8, PrefillChunkSize = 16, IntraOpThreads = 1, CopyInputsAtBind = true };
    private static readonly EngineOptions Reference = new() { MaxNumSeqs = 1, MaxModelLen = 64, MaxWaiting = 0, PrefillChunkSize = 64, IntraOpThreads = 1, PrefixCaching = false };

    private static string Model(string precision, int seed = 1234, string? target = null) => RandomModelCache.GetOrCreate("tiny", precision, seed, target: target);

    [Fact]
    public async Task Run_Fp16AgainstFp32CopiedAtBind_PassesWithSmallLogprobDifference()
    {
        // One slot: every decode runs at batch 1 whatever the arrival timing, so the fp16 rounding is the same on every run.
        // With two slots the batch shapes follow the timing, and this test failed once here (on a loaded machine, never again
        // in later runs); one slot takes timing out of it. The batched scenarios are checked at fp32 below and on the GPU.
        var report = await Check(InferenceEngine.Load(Model("fp16"), Candidate with { MaxNumSeqs = 1 }));

        Assert.True(report.Passed, report.Summary);
        Assert.Equal(report.TokensTotal, report.TokensEqual);
        // fp16 weights and activations do not give fp32's logits exactly; a check that saw no difference would compare nothing.
        Assert.InRange(Math.Max(report.MaxAbsLogprobDiff, report.MaxAbsAlternativeLogprobDiff), 1e-5, Tolerance);
        Assert.StartsWith("parity PASS: ", report.Summary, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_Fp32AgainstFp32CopiedAtBind_PassesWithIdenticalTokens()
    {
        var report = await Check(InferenceEngine.Load(Model("fp32"), Candidate));

        Assert.True(report.Passed, report.Summary);
        Assert.All(report.Scenarios, s => Assert.Empty(s.Divergences));
        // Same weights; only batch shapes and prefill chunking differ, which moves float sums by rounding at most.
        Assert.True(Math.Max(report.MaxAbsLogprobDiff, report.MaxAbsAlternativeLogprobDiff) < 1e-4, report.Summary);
        // Sequential: each prompt twice; batched: 4 requests of 8, 6, 4 and 2 tokens, twice (all at once, staggered).
        Assert.Equal((2 * Prompts * Tokens) + (2 * (8 + 6 + 4 + 2)), report.TokensTotal);
    }

    [Fact]
    public async Task Run_Int4ForCudaAgainstTheSameFileCopiedAtBind_PassesWithIdenticalTokens()
    {
        // The GPU check's int4 comparison (the CUDA layout on a device against the same file on the CPU), with the device's
        // input copies mimicked on the CPU: the same weights and kernels on both sides, so nothing may diverge. Only the batch
        // shapes differ, which moves float16 sums (the alternatives by 0.016 here) but not the sequential scenario's. Without
        // prefix caching: a reused prompt prefills only its last token, another batch shape (its own test: EnginePrefixCacheTests).
        var file = Model("int4", target: "cuda");
        var report = await Check(InferenceEngine.Load(file, Candidate with { PrefixCaching = false }), file);

        Assert.True(report.Passed, report.Summary);
        Assert.All(report.Scenarios, s => Assert.Empty(s.Divergences));
        Assert.Equal((0.0, 0.0), (report.Scenarios[0].MaxAbsLogprobDiff, report.Scenarios[0].MaxAbsAlternativeLogprobDiff));
    }

    [Fact]
    public void Report_TieMargin_PassesDivergencesOnlyWhereTheReferenceSawANearTie()
    {
        // The reference chose 2 (-0.70) over 5 (-0.72) at position 1: a near-tie the candidate may flip. At position 0 of the
        // second prompt it chose 3 (-0.1) far above 6 (-2.5): a flip there is a fault whatever the margin allowed.
        GeneratedToken T(int id, float logprob, int other, float otherLogprob) => new(id, logprob, [new TokenLogprob(id, logprob), new TokenLogprob(other, otherLogprob)], null);
        GeneratedToken[] nearTie = [T(1, -0.5f, 8, -3f), T(2, -0.70f, 5, -0.72f)];
        GeneratedToken[] clear = [T(3, -0.1f, 6, -2.5f)];
        var flippedTie = ParityCheck.Compare("s", [(0, 2, [T(1, -0.5f, 8, -3f), T(5, -0.71f, 2, -0.71f)])], [nearTie]);
        var flippedClear = ParityCheck.Compare("s", [(0, 1, [T(6, -0.6f, 3, -0.9f)])], [clear]);

        Assert.Equal([new TokenDivergence(0, 0, 1, 0.02)], flippedTie.Divergences.Select(d => d with { Margin = Math.Round(d.Margin!.Value, 6) }));
        Assert.False(new ParityReport([flippedTie], 0.05, 0.1).Passed); // no margin given: every divergence fails
        Assert.True(new ParityReport([flippedTie], 0.05, 0.1) { TieMargin = 0.05 }.Passed);
        Assert.Equal(2.4, flippedClear.Divergences.Single().Margin!.Value, 1e-6);
        Assert.False(new ParityReport([flippedTie, flippedClear], 0.05, 0.1) { TieMargin = 0.05 }.Passed);
        Assert.EndsWith(", 1 of 2 divergences near-ties (reference margin <= 0.05)", new ParityReport([flippedTie, flippedClear], 0.05, 0.1) { TieMargin = 0.05 }.Summary, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_CandidateWithOtherWeights_FailsWithDivergences()
    {
        var report = await Check(InferenceEngine.Load(Model("fp32", seed: 99), Candidate));

        Assert.False(report.Passed);
        Assert.All(report.Scenarios, s => Assert.NotEmpty(s.Divergences));
        Assert.True(report.TokensEqual < report.TokensTotal);
        Assert.StartsWith("parity FAIL: ", report.Summary, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_DecodeReplayingFirstStepInputs_Fails()
    {
        var runner = new StaleDecodeRunner(OnnxModelRunner.Create(Model("fp32"), Candidate));
        var report = await Check(new InferenceEngine(runner, Candidate));

        Assert.False(report.Passed, report.Summary);
        // Every request of the sequential scenario decodes at batch size 1 after the first one did: all replay its inputs.
        Assert.NotEmpty(report.Scenarios[0].Divergences);
    }

    [Fact]
    public void Compare_ShortRunAndLateDivergence_CountsEqualPrefixAndPositions()
    {
        // Reference continuation a b c d; run 0 asks for 3 and matches; run 1 diverges at 2; run 2 ends after 1 of 4.
        GeneratedToken T(int id, float logprob) => new(id, logprob, [new TokenLogprob(id, logprob), new TokenLogprob(7, -3f)], null);
        GeneratedToken[] expected = [T(1, -0.5f), T(2, -0.25f), T(3, -1f), T(4, -2f)];
        var runs = new List<(int, int, GeneratedToken[])>
        {
            (0, 3, [T(1, -0.5f), T(2, -0.3f), T(3, -1f)]),
            (0, 4, [T(1, -0.5f), T(2, -0.25f), T(9, -1f), T(4, -2f)]),
            (0, 4, [T(1, -0.5f)]),
        };

        var result = ParityCheck.Compare("s", runs, [expected]);

        Assert.Equal(3 + 2 + 1, result.TokensEqual);
        Assert.Equal(3 + 4 + 4, result.TokensTotal);
        Assert.Equal([new TokenDivergence(1, 0, 2), new TokenDivergence(2, 0, 1)], result.Divergences);
        Assert.Equal(0.05, result.MaxAbsLogprobDiff, 1e-6); // |-0.3 - -0.25|: the chosen token's
        Assert.Equal(0.05, result.MaxAbsAlternativeLogprobDiff, 1e-6); // the same token listed among the alternatives
    }

    private async Task<ParityReport> Check(InferenceEngine candidate, string? referenceModel = null)
    {
        await using (candidate)
        await using (var reference = InferenceEngine.Load(referenceModel ?? Model("fp32"), Reference))
        {
            var report = await ParityCheck.RunAsync(candidate, reference, Prompts, Tokens, Tolerance, AlternativesTolerance, seed: 5);
            foreach (var s in report.Scenarios)
            {
                output.WriteLine($"{s.Name}: {s.TokensEqual}/{s.TokensTotal}, divergences {string.Join(' ', s.Divergences)}, max |Δlogprob| {s.MaxAbsLogprobDiff}, alternatives {s.MaxAbsAlternativeLogprobDiff}");
            }
            output.WriteLine(report.Summary);
            return report;
        }
    }
}
