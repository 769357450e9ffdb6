using System.Globalization;
using Qwen.Inference.Engine;
using Qwen.Inference.Model;

namespace Qwen.Inference.KvCache;

/// <summary>
/// The size of the KV cache the runner allocates once at startup: <see cref="Slots"/> sequences of
/// <see cref="TokensPerSlot"/> tokens, K and V for every layer. Resolved from <see cref="EngineOptions.MaxNumSeqs"/>, or
/// from <see cref="EngineOptions.KvCacheBytes"/> when that memory budget is set.
/// </summary>
/// <param name="Slots">Sequences that can run at once.</param>
/// <param name="TokensPerSlot">Tokens one sequence can hold (prompt plus output).</param>
/// <param name="BytesPerToken">Cache bytes of one token: 2 (K, V) x layers x kv heads x head size x element size.</param>
public sealed record KvCacheLayout(int Slots, int TokensPerSlot, long BytesPerToken)
{
    /// <summary>Cache bytes of one slot.</summary>
    public long BytesPerSlot => BytesPerToken * TokensPerSlot;

    /// <summary>Tokens the whole cache holds.</summary>
    public long TotalTokens => (long)Slots * TokensPerSlot;

    /// <summary>Bytes of the whole cache.</summary>
    public long TotalBytes => BytesPerSlot * Slots;

    /// <summary>
    /// The layout for <paramref name="manifest"/>'s model under <paramref name="options"/>: tokens per slot are
    /// MaxModelLen capped by the graph's max_seq_len; slots are MaxNumSeqs, or floor(KvCacheBytes / bytes per slot) when a
    /// budget is set (then MaxNumSeqs is ignored). Throws <see cref="ArgumentException"/> when the budget holds no slot.
    /// </summary>
    public static KvCacheLayout Resolve(ModelManifest manifest, EngineOptions options)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        ArgumentNullException.ThrowIfNull(options);
        var tokens = Math.Min(options.MaxModelLen, manifest.MaxSeqLen);
        var elementSize = manifest.KvCacheDtype == "float16" ? 2 : 4;
        var perToken = 2L * manifest.NumLayers * manifest.NumKvHeads * manifest.HeadDim * elementSize;
        if (options.KvCacheBytes is not { } budget)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxNumSeqs, 1, nameof(options.MaxNumSeqs));
            return new KvCacheLayout(options.MaxNumSeqs, tokens, perToken);
        }
        var perSlot = perToken * tokens;
        var slots = budget / perSlot;
        if (slots < 1)
        {
            throw new ArgumentException(
                string.Create(CultureInfo.InvariantCulture, $"KvCacheBytes ({budget} bytes) must hold at least one slot: one slot of {tokens} tokens (MaxModelLen) takes {perSlot} bytes ({perToken} per token); raise KvCacheBytes to at least {perSlot} or lower MaxModelLen"),
                nameof(options));
        }
        return new KvCacheLayout((int)Math.Min(slots, int.MaxValue), tokens, perToken);
    }
}
