using Microsoft.ML.OnnxRuntime;
using Qwen.OnnxExport.Tests.Checkpoint;
using Xunit.Abstractions;

namespace Qwen.OnnxExport.Tests.Graph;

/// <summary>int4 and fp16 exports against fp32 over 64 positions: top-1 agreement and the largest logit error.</summary>
public sealed class PrecisionAgreementTests(ITestOutputHelper output)
{
    private static readonly int[] Positions = Enumerable.Range(0, 64).Select(i => (i * 7919) % 151643).ToArray();

    [Theory]
    [InlineData("int4", 32, null)]
    [InlineData("int4", 64, null)]
    [InlineData("int4", 128, null)]
    [InlineData("int4", 32, "cuda")]
    [InlineData("fp16", 0, null)]
    public void LowPrecision_Over64Positions_AgreesWithFp32OnTop1(string precision, int blockSize, string? target)
    {
        var reference = Logits(TinyModel.Directory("fp32"));
        using var dirs = new TestDirectories();
        var lowDir = blockSize is 0 or 32 ? TinyModel.Directory(precision, target: target) : dirs.Temp($"int4-bs{blockSize}");
        if (blockSize is not (0 or 32))
        {
            // The tiny preset's K is 64 or 192: 128-weight blocks also exercise a partial last block.
            ModelExporter.Export(new ExportOptions { InputDirectory = Path.Combine(TinyModel.Directory("fp32"), "source"), OutputDirectory = lowDir, Precision = Precision.Int4, Int4BlockSize = blockSize });
        }
        var (agree, maxError, relativeRms) = Against(reference, lowDir);
        output.WriteLine($"{precision}{(target is null ? "" : $" for {target}")}{(blockSize > 0 ? $" (block {blockSize})" : "")} vs fp32 over {Positions.Length} positions: top-1 agreement {agree}/{Positions.Length}, max |logit error| {maxError:F3}, relative RMS error {relativeRms:F4}");
        // A sanity bound, not a quality target: a wrongly laid out or wrongly scaled weight gives near-zero agreement over
        // 151,936 tokens, while rounding moves logits (standard deviation ~6 here) by a fraction of that.
        Assert.True(agree >= Positions.Length / 2, $"top-1 agreement {agree}/{Positions.Length}");
        Assert.True(relativeRms < 0.25, "relative RMS error");
    }

    /// <summary>
    /// The CUDA int4 layout rounds the same weights as the CPU one (scales in float16 instead of float32) and runs in float16
    /// without the CPU's int8 activations, so its distance from fp32 must be in the CPU int4's range: measured on the tiny
    /// preset, 54/64 against 55/64 top-1 and relative RMS 0.150 against 0.150.
    /// </summary>
    [Fact]
    public void Int4ForCuda_AgreesWithFp32AsWellAsInt4ForCpu()
    {
        var reference = Logits(TinyModel.Directory("fp32"));
        var cpu = Against(reference, TinyModel.Directory("int4"));
        var cuda = Against(reference, TinyModel.Directory("int4", target: "cuda"));
        output.WriteLine($"top-1 against fp32: int4 for cuda {cuda.Agree}/{Positions.Length}, int4 for cpu {cpu.Agree}/{Positions.Length}; relative RMS {cuda.RelativeRms:F4} against {cpu.RelativeRms:F4}");
        Assert.InRange(cuda.Agree, cpu.Agree - (Positions.Length / 8), Positions.Length);
        Assert.InRange(cuda.RelativeRms, 0, cpu.RelativeRms * 1.25);
    }

    private static (int Agree, double MaxError, double RelativeRms) Against(float[][] reference, string dir)
    {
        var low = Logits(dir);
        var agree = 0;
        double maxError = 0, sumSquares = 0, sumSquaresRef = 0;
        for (var t = 0; t < Positions.Length; t++)
        {
            agree += ArgMax(reference[t]) == ArgMax(low[t]) ? 1 : 0;
            for (var i = 0; i < reference[t].Length; i++)
            {
                var d = reference[t][i] - low[t][i];
                maxError = Math.Max(maxError, Math.Abs(d));
                sumSquares += d * d;
                sumSquaresRef += reference[t][i] * (double)reference[t][i];
            }
        }
        return (agree, maxError, Math.Sqrt(sumSquares / sumSquaresRef));
    }

    private static float[][] Logits(string dir)
    {
        using var ort = new OrtDecoder(dir, slots: 1, cacheLen: 80);
        return Positions.Select((token, t) => t == 0 ? ort.Prefill(0, [token], 0) : ort.Decode([token], [t])[0]).ToArray();
    }

    private static int ArgMax(float[] v) => Array.IndexOf(v, v.Max());
}
