namespace Qwen.Inference.Sampling;

/// <summary>
/// xoshiro256** seeded through SplitMix64: a small generator whose output is fixed by its seed on every platform and
/// .NET version (System.Random's algorithm is not specified), so a seeded request always draws the same numbers.
/// </summary>
public sealed class SequenceRandom
{
    private ulong _s0, _s1, _s2, _s3;

    /// <summary>Seeds the generator.</summary>
    public SequenceRandom(ulong seed)
    {
        _s0 = SplitMix(ref seed);
        _s1 = SplitMix(ref seed);
        _s2 = SplitMix(ref seed);
        _s3 = SplitMix(ref seed);
    }

    /// <summary>A uniform double in [0, 1).</summary>
    public double NextDouble() => (Next() >> 11) * (1.0 / (1UL << 53));

    /// <summary>The generator's state, for <see cref="Restore"/> (a draw the candidate sampler has to take back).</summary>
    internal (ulong S0, ulong S1, ulong S2, ulong S3) Save() => (_s0, _s1, _s2, _s3);

    /// <summary>Returns the generator to a state <see cref="Save"/> gave.</summary>
    internal void Restore((ulong S0, ulong S1, ulong S2, ulong S3) state) => (_s0, _s1, _s2, _s3) = state;

    private ulong Next()
    {
        var result = ulong.RotateLeft(_s1 * 5, 7) * 9;
        var t = _s1 << 17;
        _s2 ^= _s0;
        _s3 ^= _s1;
        _s1 ^= _s2;
        _s0 ^= _s3;
        _s2 ^= t;
        _s3 = ulong.RotateLeft(_s3, 45);
        return result;
    }

    private static ulong SplitMix(ref ulong x)
    {
        var z = x += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
