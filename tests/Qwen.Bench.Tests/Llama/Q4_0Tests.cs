using Qwen.Bench.Llama;

namespace Qwen.Bench.Tests.Llama;

/// <summary>q4_0 as the GGUF writer quantizes it, against the format's definition and hand-computed bytes.</summary>
public sealed class Q4_0Tests
{
    [Fact]
    public void Quantize_Ramp_GivesHandComputedBytes()
    {
        // w_j = j - 16: the first weight of largest magnitude is -16, so d = 2 (float16 0x4000) and code_j = trunc(j/2 + 0.5)
        // capped at 15; byte j holds code_j (low) and code_{j+16} (high).
        var weights = Enumerable.Range(0, 32).Select(j => (float)(j - 16)).ToArray();
        var expected = new byte[18];
        expected[0] = 0x00;
        expected[1] = 0x40;
        for (var j = 0; j < 16; j++)
        {
            int lo = (int)((j / 2.0) + 0.5), hi = Math.Min(15, (int)(((j + 16) / 2.0) + 0.5));
            expected[2 + j] = (byte)(lo | (hi << 4));
        }
        var actual = new byte[18];

        Q4_0.Quantize(weights, actual);

        Assert.Equal(expected, actual);
    }

    [Theory]
    [InlineData(1, 0.02f)]
    [InlineData(2, 1f)]
    [InlineData(3, 300f)]
    public void Quantize_RandomBlocks_EqualsReferenceAndReadsBackWithinHalfAStep(int seed, float scale)
    {
        var random = new Random(seed);
        var weights = Enumerable.Range(0, 32 * 64).Select(_ => (float)(random.NextDouble() - 0.5) * 2 * scale).ToArray();
        weights.AsSpan(32, 32).Clear(); // an all-zero block: d = 0, every code 8
        weights[70] = -scale * 3; // a negative extreme: d > 0
        var actual = new byte[Q4_0.ByteLength(weights.Length)];

        Q4_0.Quantize(weights, actual);

        Assert.Equal(Q4_0Reference.Quantize(weights), actual);
        Assert.All(actual.AsSpan(18 + 2, 16).ToArray(), b => Assert.Equal(0x88, b)); // block 1, all zero
        var back = Q4_0Reference.Dequantize(actual);
        for (var b = 0; b < weights.Length / 32; b++)
        {
            var step = weights.AsSpan(b * 32, 32).ToArray().Max(Math.Abs) / 8;
            for (var j = b * 32; j < (b + 1) * 32; j++)
            {
                // Half a step of rounding, plus the float16 scale's relative error (2^-11) times the largest code (8); a
                // whole step where a weight opposite the extreme lies beyond 7.5 steps and its code is capped at 15 (+7).
                var rounding = Math.Abs(weights[j]) > 7.5f * step ? step : step * 0.5f;
                Assert.InRange(Math.Abs(back[j] - weights[j]), 0, rounding + (step * 8 / 2048f) + 1e-6f);
            }
        }
    }

    [Fact]
    public void Quantize_LengthNotWholeBlocks_Throws()
    {
        Assert.Throws<ArgumentException>(() => Q4_0.Quantize(new float[33], new byte[36]));
    }
}
