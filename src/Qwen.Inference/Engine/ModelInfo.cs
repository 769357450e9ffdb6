using Qwen.Inference.KvCache;

namespace Qwen.Inference.Engine;

/// <summary>What a loaded model is and what it holds, as its runner describes itself: the host's startup log, validators and endpoints read this, never the runner.</summary>
/// <param name="VocabSize">Vocabulary size (length of one logits row); prompt token ids must be below it.</param>
/// <param name="MaxModelLen">Tokens one sequence may reach, prompt and output together.</param>
/// <param name="Slots">KV cache slots: the most sequences that run at once (the resolved MaxNumSeqs).</param>
/// <param name="Precision">The weights' precision as the exporter's manifest states it (fp32, fp16, int4); <c>scripted</c> for a test runner.</param>
/// <param name="KvCacheBytes">Bytes of the KV cache (all layers, K and V, every slot); 0 when the runner holds no real cache.</param>
/// <param name="ExecutionProvider">Where the model runs: <c>cpu</c> or <c>cuda</c>.</param>
/// <param name="DeviceMemory">On CUDA without a KV cache budget: the device memory reading that sized the cache; otherwise null.</param>
/// <param name="CandidateCount">Candidates per decode row the runner samples from (K); 0 when it samples full rows only.</param>
public sealed record ModelInfo(
    int VocabSize,
    int MaxModelLen,
    int Slots,
    string Precision,
    long KvCacheBytes,
    string ExecutionProvider,
    DeviceMemoryBudget? DeviceMemory,
    int CandidateCount)
{
    /// <summary>Bytes of the model's host memory (weights, KV cache) held in 2 MB huge pages; 0 on CUDA, when off, or for a test runner.</summary>
    public long HugePageBytes { get; init; }
}
