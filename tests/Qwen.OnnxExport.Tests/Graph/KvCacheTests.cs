namespace Qwen.OnnxExport.Tests.Graph;

/// <summary>The in-place KV cache: chunked prefill and decode steps give the logits of one pass; batch rows do not interfere.</summary>
public sealed class KvCacheTests
{
    private const float Tolerance = 1e-4f;

    [Fact]
    public void PrefillNThenMSteps_EqualsOnePassOverNPlusM()
    {
        var dir = TinyModel.Directory();
        var prompt = TinyModel.Prompt;
        using var whole = new OrtDecoder(dir, slots: 1, cacheLen: 64);
        var expected = whole.Prefill(0, prompt, 0);

        using var stepwise = new OrtDecoder(dir, slots: 1, cacheLen: 64);
        stepwise.Prefill(0, prompt[..12], 0);
        float[] last = [];
        for (var t = 12; t < prompt.Length; t++)
        {
            last = stepwise.Decode([prompt[t]], [t])[0];
        }
        AssertClose(expected, last);

        using var chunked = new OrtDecoder(dir, slots: 1, cacheLen: 64);
        chunked.Prefill(0, prompt[..9], 0);
        AssertClose(expected, chunked.Prefill(0, prompt[9..], 9));
    }

    [Fact]
    public void DecodeBatchOfThreeRowsAtDifferentLengths_EachRowGetsItsAloneLogits()
    {
        var dir = TinyModel.Directory();
        int[][] prompts = [TinyModel.Prompt[..5], TinyModel.Prompt[3..20], TinyModel.Prompt[10..12]];
        int[] next = [11, 2222, 33333];
        var alone = prompts.Select((p, i) =>
        {
            using var d = new OrtDecoder(dir, slots: 1, cacheLen: 64);
            d.Prefill(0, p, 0);
            return d.Decode([next[i]], [p.Length])[0];
        }).ToArray();

        using var batch = new OrtDecoder(dir, slots: 3, cacheLen: 64);
        for (var i = 0; i < 3; i++)
        {
            batch.Prefill(i, prompts[i], 0);
        }
        var rows = batch.Decode(next, prompts.Select(p => p.Length).ToArray());
        for (var i = 0; i < 3; i++)
        {
            AssertClose(alone[i], rows[i]);
        }
    }

    private static void AssertClose(float[] expected, float[] actual)
    {
        var worst = expected.Zip(actual, (a, b) => Math.Abs(a - b)).Max();
        Assert.True(worst < Tolerance, $"max logit difference {worst} exceeds {Tolerance}");
    }
}
