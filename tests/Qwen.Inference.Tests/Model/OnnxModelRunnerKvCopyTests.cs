using Qwen.Inference.Engine;
using Qwen.Inference.Model;
using Qwen.Inference.Tests.Engine;

namespace Qwen.Inference.Tests.Model;

/// <summary>
/// Copying and swapping cache rows between slots, checked by what the model computes from them: a slot whose rows were
/// copied or swapped in gives the logits of a fresh prefill of the whole history (an independent runner), within float
/// summation order; rows beyond the copied length and other slots are left alone.
/// </summary>
public sealed class OnnxModelRunnerKvCopyTests
{
    private static readonly EngineOptions Options = new() { MaxNumSeqs = 3, MaxModelLen = 64, IntraOpThreads = 1 };

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void CopyKv_PrefixIntoAnotherSlot_ThenTheRest_AsAFreshPrefill(bool copyInputsAtBind)
    {
        using var runner = OnnxModelRunner.Create(EngineBatchingTests.TinyModel, Options with { CopyInputsAtBind = copyInputsAtBind });
        var a = EngineBatchingTests.Prompt(31, 30);
        var logits = new float[runner.VocabSize];
        runner.Prefill(0, a, 0, logits);
        runner.Prefill(2, EngineBatchingTests.Prompt(32, 40), 0, logits); // slot 2 holds something else, longer

        int[] b = [.. a.Take(20), .. EngineBatchingTests.Prompt(33, 5)];
        runner.CopyKv(0, 2, 20);
        runner.Prefill(2, b.AsSpan(20), 20, logits);
        AssertFresh(b, logits);

        runner.Prefill(0, [a[^1]], a.Length - 1, logits); // slot 0 is unchanged by being copied from
        AssertFresh(a, logits);
    }

    [Fact]
    public void SwapKv_TwoSlots_EachDecodesItsOwnHistoryInTheOther()
    {
        using var runner = OnnxModelRunner.Create(EngineBatchingTests.TinyModel, Options);
        var a = EngineBatchingTests.Prompt(41, 17);
        var b = EngineBatchingTests.Prompt(42, 9);
        var logits = new float[runner.VocabSize];
        runner.Prefill(0, a, 0, logits);
        runner.Prefill(1, b, 0, logits);
        runner.SwapKv(0, 1, 17);

        var rows = new float[2 * runner.VocabSize];
        runner.Decode([5, 6], [b.Length, a.Length], rows);
        AssertFresh([.. b, 5], rows.AsSpan(0, runner.VocabSize).ToArray());
        AssertFresh([.. a, 6], rows.AsSpan(runner.VocabSize).ToArray());
    }

    private static void AssertFresh(int[] history, float[] logits)
    {
        using var oracle = OnnxModelRunner.Create(EngineBatchingTests.TinyModel, Options);
        var expected = new float[oracle.VocabSize];
        oracle.Prefill(0, history, 0, expected);
        var worst = expected.Zip(logits).Max(p => Math.Abs(p.First - p.Second));
        Assert.True(worst < 1e-4, $"largest |Δlogit| {worst} against a fresh prefill of the same {history.Length} tokens");
    }
}
