namespace Qwen.Bench.Tests.Llama;

/// <summary>
/// q4_0 written from the format's definition, weight by weight (ggml-common.h's block_q4_0 and the reference
/// quantizer's rule), for the tests: scale d = (the weight of largest magnitude, sign kept) / -8, stored as float16;
/// code = min(15, trunc(w · (1/d) + 8.5)), 0 when d is 0; weight j of a block in byte j mod 16, low nibble for j &lt; 16.
/// </summary>
internal static class Q4_0Reference
{
    public static byte[] Quantize(float[] weights)
    {
        var output = new byte[weights.Length / 32 * 18];
        for (var b = 0; b < weights.Length / 32; b++)
        {
            var extreme = 0f;
            for (var j = 0; j < 32; j++)
            {
                if (Math.Abs(weights[(b * 32) + j]) > Math.Abs(extreme))
                {
                    extreme = weights[(b * 32) + j];
                }
            }
            var d = extreme / -8f;
            var inverse = d == 0 ? 0f : 1f / d;
            var half = BitConverter.HalfToUInt16Bits((Half)d);
            output[b * 18] = (byte)(half & 0xFF);
            output[(b * 18) + 1] = (byte)(half >> 8);
            for (var j = 0; j < 32; j++)
            {
                var code = (int)Math.Truncate((weights[(b * 32) + j] * inverse) + 8.5f);
                code = Math.Min(15, code);
                var at = (b * 18) + 2 + (j % 16);
                output[at] |= (byte)(j < 16 ? code : code << 4);
            }
        }
        return output;
    }

    /// <summary>The weights a q4_0 block stream reads back as: (code - 8) · d.</summary>
    public static float[] Dequantize(byte[] blocks)
    {
        var weights = new float[blocks.Length / 18 * 32];
        for (var b = 0; b < blocks.Length / 18; b++)
        {
            var d = (float)BitConverter.UInt16BitsToHalf((ushort)(blocks[b * 18] | (blocks[(b * 18) + 1] << 8)));
            for (var j = 0; j < 32; j++)
            {
                var packed = blocks[(b * 18) + 2 + (j % 16)];
                var code = j < 16 ? packed & 0xF : packed >> 4;
                weights[(b * 32) + j] = (code - 8) * d;
            }
        }
        return weights;
    }
}
