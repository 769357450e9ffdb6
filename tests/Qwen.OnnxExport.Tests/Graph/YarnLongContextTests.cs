using System.Diagnostics;
using Qwen.Reference;
using Xunit.Abstractions;

namespace Qwen.OnnxExport.Tests.Graph;

/// <summary>
/// The tiny fp32 model exported with the model card's YaRN scaling (factor 4 over 32,768 positions), run past the trained
/// context with ONNX Runtime: the logits of the last prefill position and of each decode step, all at positions beyond
/// 32,768, against the naive double-precision reference reading the same checkpoint.
/// </summary>
public sealed class YarnLongContextTests(ITestOutputHelper output)
{
    // The issue's tolerance, the one ReferenceForwardTests states for short prompts: 1e-4 absolute on every logit.
    private const double Tolerance = 1e-4;
    private const int PromptLength = 33_000; // past the original 32,768
    private const int DecodeSteps = 4;
    private const int Chunk = 256; // ORT's CPU attention holds [heads, chunk, total] float probabilities: 135 MB at 33K

    [Fact]
    public void TinyYarn_PromptPast32K_LastPrefillAndDecodeLogits_MatchReference()
    {
        var dir = RandomModelCache.GetOrCreate("tiny", "fp32", 1234, yarn: 4.0);
        var random = new Random(19);
        var prompt = Enumerable.Range(0, PromptLength).Select(_ => random.Next(151_643)).ToArray(); // ordinary tokens only

        var clock = Stopwatch.StartNew();
        var reference = new ReferenceQwen2(Path.Combine(dir, "source")).Start(PromptLength + DecodeSteps);
        var expected = reference.Prefill(prompt);
        output.WriteLine($"reference prefill of {PromptLength} tokens: {clock.Elapsed.TotalSeconds:F1} s");

        clock.Restart();
        using var ort = new OrtDecoder(dir, slots: 1, cacheLen: PromptLength + DecodeSteps);
        float[] actual = [];
        for (var start = 0; start < PromptLength; start += Chunk)
        {
            actual = ort.Prefill(0, prompt[start..Math.Min(start + Chunk, PromptLength)], start);
        }
        output.WriteLine($"ORT prefill in chunks of {Chunk}: {clock.Elapsed.TotalSeconds:F1} s");

        var errors = new List<double> { MaxError(actual, expected) };
        for (var step = 0; step < DecodeSteps; step++)
        {
            var token = GreedyStep.From(expected).Token; // both sides continue with the reference's pick
            expected = reference.Append(token);
            actual = ort.Decode([token], [PromptLength + step])[0];
            errors.Add(MaxError(actual, expected));
        }
        output.WriteLine($"max |ORT - reference| at positions {PromptLength - 1}..{PromptLength + DecodeSteps - 1}: {string.Join(", ", errors.Select(e => e.ToString("E3", System.Globalization.CultureInfo.InvariantCulture)))}");
        Assert.All(errors, e => Assert.True(e < Tolerance, $"max logit error {e} exceeds {Tolerance}"));
    }

    private static double MaxError(float[] actual, double[] expected)
    {
        Assert.Equal(expected.Length, actual.Length);
        return actual.Select((a, i) => Math.Abs(a - expected[i])).Max();
    }
}
