using Microsoft.ML.OnnxRuntime;
using Qwen.OnnxExport.Tests.Checkpoint;
using Xunit.Abstractions;

namespace Qwen.OnnxExport.Tests.Graph;

/// <summary>int4 and fp16 exports against fp32 over 64 positions: top-1 agreement and the largest logit error.</summary>
public sealed class PrecisionAgreementTests(ITestOutputHelper output)
{
    private static readonly int[] Positions = Enumerable.Range(0, 64).Select(i => (i * 7919) % 151643).ToArray();

    [Theory]
    [InlineData("int4", 32)]
    [InlineData("int4", 64)]
    [InlineData("int4", 128)]
    [InlineData("fp16", 0)]
    public void LowPrecision_Over64Positions_AgreesWithFp32OnTop1(string precision, int blockSize)
    {
        var reference = Logits(TinyModel.Directory("fp32"));
        using var dirs = new TestDirectories();
        var lowDir = blockSize is 0 or 32 ? TinyModel.Directory(precision) : dirs.Temp($"int4-bs{blockSize}");
        if (blockSize is not (0 or 32))
        {
            // The tiny preset's K is 64 or 192: 128-weight blocks also exercise a partial last block.
            ModelExporter.Export(new ExportOptions { InputDirectory = Path.Combine(TinyModel.Directory("fp32"), "source"), OutputDirectory = lowDir, Precision = Precision.Int4, Int4BlockSize = blockSize });
        }
        var low = Logits(lowDir);
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
        output.WriteLine($"{precision}{(blockSize > 0 ? $" (block {blockSize})" : "")} vs fp32 over {Positions.Length} positions: top-1 agreement {agree}/{Positions.Length}, max |logit error| {maxError:F3}, relative RMS error {Math.Sqrt(sumSquares / sumSquaresRef):F4}");
        // A sanity bound, not a quality target: a wrongly laid out or wrongly scaled weight gives near-zero agreement over
        // 151,936 tokens, while rounding moves logits (standard deviation ~6 here) by a fraction of that.
        Assert.True(agree >= Positions.Length / 2, $"top-1 agreement {agree}/{Positions.Length}");
        Assert.True(Math.Sqrt(sumSquares / sumSquaresRef) < 0.25, "relative RMS error");
    }

    private static float[][] Logits(string dir)
    {
        using var ort = new OrtDecoder(dir, slots: 1, cacheLen: 80);
        return Positions.Select((token, t) => t == 0 ? ort.Prefill(0, [token], 0) : ort.Decode([token], [t])[0]).ToArray();
    }

    private static int ArgMax(float[] v) => Array.IndexOf(v, v.Max());
}
