using System.Globalization;
using Qwen.Inference.Engine;
using Qwen.Inference.Model;

namespace Qwen.Inference.KvCache;

/// <summary>
/// The size of the KV cache the runner allocates once at startup: <see cref="Slots"/> sequences of
/// <see cref="TokensPerSlot"/> tokens, K and V for every layer. Resolved from <see cref="EngineOptions.MaxNumSeqs"/>, or
/// from <see cref="EngineOptions.KvCacheBytes"/> when that memory budget is set, or on CUDA from the device's free memory
/// (<see cref="FromDeviceMemory"/>).
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

    /// <summary>The device memory reading the slots were derived from (CUDA without KvCacheBytes); null otherwise.</summary>
    public DeviceMemoryBudget? Device { get; init; }

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

    /// <summary>
    /// The layout on a device that has <paramref name="freeBytes"/> of <paramref name="totalBytes"/> free once the weights
    /// are loaded. The rule (vLLM's <c>--gpu-memory-utilization</c>): this process may take u = GpuMemoryUtilization of the
    /// whole device, and what is in use already (other processes, the weights, the CUDA context) counts against it, so the
    /// cache may take budget = floor(u x total) - (total - free), i.e. free - (1 - u) x total; the (1 - u) x total left free
    /// is the headroom for activations and ONNX Runtime's arena. Slots = min(MaxNumSeqs, floor(budget / bytes per slot)):
    /// MaxNumSeqs still caps them, since the runner makes views and bindings per slot and per batch size. Tokens per slot
    /// are as in <see cref="Resolve"/>. An explicit KvCacheBytes wins: then this is <see cref="Resolve"/>. Throws
    /// <see cref="ArgumentException"/> with the numbers when the budget holds no slot.
    /// </summary>
    public static KvCacheLayout FromDeviceMemory(ModelManifest manifest, EngineOptions options, long freeBytes, long totalBytes)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.KvCacheBytes is not null)
        {
            return Resolve(manifest, options);
        }
        var u = options.GpuMemoryUtilization;
        if (!(u > 0 && u <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(options), u, "GpuMemoryUtilization must be in (0, 1]");
        }
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(totalBytes);
        ArgumentOutOfRangeException.ThrowIfNegative(freeBytes);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(freeBytes, totalBytes);
        var layout = Resolve(manifest, options); // MaxNumSeqs slots: the cap
        var budget = (long)Math.Floor(u * totalBytes) - (totalBytes - freeBytes);
        var allowed = Math.Max(budget, 0) / layout.BytesPerSlot;
        if (allowed < 1)
        {
            throw new ArgumentException(
                string.Create(CultureInfo.InvariantCulture, $"GPU memory holds no KV cache slot: {Size(freeBytes)} of {Size(totalBytes)} free once the weights were loaded, and GpuMemoryUtilization {u} leaves {Size(budget)} for the cache (free - (1 - {u}) x total), but one slot of {layout.TokensPerSlot} tokens (MaxModelLen) takes {Size(layout.BytesPerSlot)} ({layout.BytesPerToken} bytes per token); raise GpuMemoryUtilization, lower MaxModelLen, free the device of other processes, or set a KV cache budget (KvCacheBytes, the server's --kv-cache-memory)"),
                nameof(options));
        }
        return layout with
        {
            Slots = (int)Math.Min(allowed, options.MaxNumSeqs),
            Device = new DeviceMemoryBudget(freeBytes, totalBytes, u, budget, allowed),
        };
    }

    private static string Size(long bytes) => string.Create(CultureInfo.InvariantCulture, $"{bytes} bytes ({bytes / 1048576.0:F0} MiB)");
}
