using System.Buffers.Binary;

namespace Qwen.Bench.Llama;

/// <summary>
/// ggml's q4_0, quantized by its reference rule (ggml-quants.c <c>quantize_row_q4_0_ref</c>, the one llama.cpp uses to
/// write files deterministically): per block of 32 weights the value of largest magnitude m (sign kept) gives the scale
/// d = m / -8, stored as float16; each weight becomes min(15, trunc(w / d + 8.5)), so m itself maps to 0 and the
/// codes read back as (q - 8)·d. A block is 18 bytes: d, then 16 bytes whose low nibbles are weights 0–15 and high
/// nibbles weights 16–31 (not neighbouring pairs).
/// </summary>
internal static class Q4_0
{
    /// <summary>Weights per block.</summary>
    public const int BlockSize = 32;

    /// <summary>Bytes per block: a float16 scale and 16 bytes of nibbles.</summary>
    public const int BlockBytes = 2 + (BlockSize / 2);

    /// <summary>Bytes that <paramref name="count"/> weights (a multiple of 32) take.</summary>
    public static long ByteLength(long count) => count / BlockSize * BlockBytes;

    /// <summary>Quantizes <paramref name="weights"/> (a multiple of 32 long) into <paramref name="destination"/> (<see cref="ByteLength"/> bytes).</summary>
    public static void Quantize(ReadOnlySpan<float> weights, Span<byte> destination)
    {
        if (weights.Length % BlockSize != 0 || destination.Length != ByteLength(weights.Length))
        {
            throw new ArgumentException($"q4_0 needs a multiple of {BlockSize} weights and {BlockBytes} bytes per block (given {weights.Length} weights, {destination.Length} bytes)", nameof(weights));
        }
        for (var b = 0; b < weights.Length / BlockSize; b++)
        {
            var x = weights.Slice(b * BlockSize, BlockSize);
            var block = destination.Slice(b * BlockBytes, BlockBytes);
            float amax = 0, max = 0;
            foreach (var v in x)
            {
                if (amax < MathF.Abs(v))
                {
                    amax = MathF.Abs(v);
                    max = v;
                }
            }
            // The codes are computed from the float32 scale; only the stored copy is rounded to float16.
            var d = max / -8;
            var id = d != 0 ? 1f / d : 0f;
            BinaryPrimitives.WriteHalfLittleEndian(block, (Half)d);
            for (var j = 0; j < BlockSize / 2; j++)
            {
                var lo = Math.Min(15, (int)((x[j] * id) + 8.5f));
                var hi = Math.Min(15, (int)((x[j + (BlockSize / 2)] * id) + 8.5f));
                block[2 + j] = (byte)(lo | (hi << 4));
            }
        }
    }
}
