using Qwen.Reference;
using Xunit.Abstractions;

namespace Qwen.OnnxExport.Tests.Graph;

/// <summary>The exported fp32 graph against the naive double-precision reference, reading the same safetensors.</summary>
public sealed class ReferenceForwardTests(ITestOutputHelper output)
{
    // Stated tolerance of the issue: 1e-4 absolute on every logit.
    private const double Tolerance = 1e-4;

    [Theory]
    [InlineData("tiny")]
    [InlineData("small")]
    public void ExportedGraph_EveryPositionDecodedStepByStep_MatchesReferenceLogits(string preset)
    {
        var dir = TinyModel.Directory("fp32", preset);
        var worst = StepByStepError(dir, Path.Combine(dir, "source"));
        output.WriteLine($"{preset}: max |ORT - reference| over {TinyModel.Prompt.Length} positions x every logit = {worst:E3}");
        Assert.True(worst < Tolerance, $"max logit error {worst} exceeds {Tolerance}");
    }

    [Fact]
    public void Prefill_WholePrompt_MatchesReferenceAtLastPosition()
    {
        var dir = TinyModel.Directory();
        var reference = new ReferenceQwen2(Path.Combine(dir, "source")).Forward(TinyModel.Prompt);
        using var ort = new OrtDecoder(dir, slots: 1, cacheLen: 64);
        var logits = ort.Prefill(0, TinyModel.Prompt, 0);
        var last = reference[^1];
        Assert.All(Enumerable.Range(0, logits.Length), i => Assert.True(Math.Abs(logits[i] - last[i]) < Tolerance, $"logit {i}: {logits[i]} vs {last[i]}"));
    }

    /// <summary>
    /// The largest |logit difference| between the graph in <paramref name="dir"/> and the reference forward pass of the
    /// checkpoint in <paramref name="source"/>: the first prompt token as a prefill, then one decode step per position.
    /// </summary>
    internal static double StepByStepError(string dir, string source)
    {
        var reference = new ReferenceQwen2(source).Forward(TinyModel.Prompt);
        using var ort = new OrtDecoder(dir, slots: 1, cacheLen: 64);
        var worst = 0.0;
        for (var t = 0; t < TinyModel.Prompt.Length; t++)
        {
            var logits = t == 0 ? ort.Prefill(0, [TinyModel.Prompt[0]], 0) : ort.Decode([TinyModel.Prompt[t]], [t])[0];
            for (var i = 0; i < logits.Length; i++)
            {
                worst = Math.Max(worst, Math.Abs(logits[i] - reference[t][i]));
            }
        }
        return worst;
    }
}
