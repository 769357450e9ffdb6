using Qwen.Inference.Sampling;

namespace Qwen.Inference.Engine;

/// <summary>Engine settings: the KV cache budget, the scheduler's limits and the execution provider.</summary>
public sealed record EngineOptions
{
    /// <summary>
    /// KV cache slots: the most sequences that run at once. Ignored when <see cref="KvCacheBytes"/> is set; on CUDA the
    /// most slots, fewer when the device memory (<see cref="GpuMemoryUtilization"/>) holds fewer.
    /// </summary>
    public int MaxNumSeqs { get; init; } = 8;

    /// <summary>
    /// KV cache memory budget in bytes; null sizes the cache by <see cref="MaxNumSeqs"/> instead. When set, the slots are
    /// floor(budget / bytes of one <see cref="MaxModelLen"/>-token slot), at least one (see <c>KvCacheLayout.Resolve</c>).
    /// </summary>
    public long? KvCacheBytes { get; init; }

    /// <summary>
    /// On CUDA without <see cref="KvCacheBytes"/>: the fraction of the whole device this process may take, in (0, 1], as
    /// vLLM's <c>--gpu-memory-utilization</c>; the KV cache gets what is left of it once the weights are loaded, at most
    /// <see cref="MaxNumSeqs"/> slots (see <c>KvCacheLayout.FromDeviceMemory</c>). Ignored on the CPU.
    /// </summary>
    public double GpuMemoryUtilization { get; init; } = 0.9;

    /// <summary>Tokens per slot (prompt plus output); at most the model's maximum sequence length.</summary>
    public int MaxModelLen { get; init; } = 4096;

    /// <summary>Requests that may wait for a slot; beyond it <see cref="EngineOverloadedException"/>.</summary>
    public int MaxWaiting { get; init; } = 64;

    /// <summary>
    /// Tokens a sequence's reader may be behind the engine (its output channel's capacity). The engine loop never waits for a
    /// reader: when the channel is full it ends the sequence, frees its slot and raises <see cref="ClientTooSlowException"/>
    /// to the reader after what is buffered. 512 holds about 110 KB per sequence at worst (a token with top_logprobs 20 is
    /// a 32-byte entry plus a 184-byte array of 20 alternatives), 14 MB for 128 sequences; and it is several seconds of
    /// decode at the CPU's 60-220 tok/s, on top of what the socket buffers absorb, so a reader that keeps up never hits it.
    /// </summary>
    public int MaxClientLag { get; init; } = 512;

    /// <summary>
    /// Prompt tokens prefilled per engine step; longer prompts are prefilled in chunks between decode steps. 256 bounds the
    /// stall of 8 running streams to one chunk (0.70 s at int4 on the CPU, bench/README.md "Chunk size trade-off").
    /// </summary>
    public int PrefillChunkSize { get; init; } = 256;

    /// <summary>
    /// While other sequences decode, shorten a prompt's chunk at a long context so that it costs no more than a
    /// <see cref="PrefillChunkSize"/> chunk at the start of a prompt (linear layers plus attention over the context, by
    /// <see cref="Model.IModelRunner.AttentionCostPerKey"/>): the decoding streams wait for the whole chunk, and its attention
    /// grows with the context, so fixed chunks stall them for seconds at 100K tokens (bench/README.md "Long prompts with
    /// YaRN"). At least <see cref="MinScaledChunk"/> tokens; a prompt prefilled while nothing decodes keeps full chunks.
    /// </summary>
    public bool ScalePrefillChunks { get; init; } = true;

    /// <summary>The fewest tokens a scaled chunk holds, so that a very long context still advances.</summary>
    public const int MinScaledChunk = 16;

    /// <summary>
    /// On the CPU under Linux, back the weights ONNX Runtime loaded and the KV cache with 2 MB transparent huge pages (a
    /// one-time collapse at load, <c>HugePages</c>): fewer TLB misses while every step reads the weights. Measured in
    /// bench/README.md ("Huge pages"); off only to compare, or where memory must stay in 4 KB pages.
    /// </summary>
    public bool HugePages { get; init; } = true;

    /// <summary>ONNX Runtime intra-op threads; 0: one per core available to the process (Environment.ProcessorCount).</summary>
    public int IntraOpThreads { get; init; }

    /// <summary>The intra-op threads ONNX Runtime is given: <see cref="IntraOpThreads"/>, or when 0 one per core available to the process.</summary>
    public int ResolvedIntraOpThreads => IntraOpThreads > 0 ? IntraOpThreads : Environment.ProcessorCount;

    /// <summary>Where the model runs: <c>cpu</c> or <c>cuda</c>.</summary>
    public string ExecutionProvider { get; init; } = "cpu";

    /// <summary>CUDA device id when <see cref="ExecutionProvider"/> is <c>cuda</c>.</summary>
    public int CudaDeviceId { get; init; }

    /// <summary>
    /// Copy each host input into memory of its own when it is bound, as ONNX Runtime does for a CUDA session, instead of
    /// reading it at Run as the CPU provider does. For CPU tests and the parity check: a binding that is not refreshed before
    /// each step then replays stale inputs on the CPU too, as it would on a GPU.
    /// </summary>
    public bool CopyInputsAtBind { get; init; }

    /// <summary>
    /// Sample decode rows from the model's candidates graph (each row's top K logits and log-sum-exp; a row's full logits
    /// only when its settings or the sampler need them) instead of reading every full row. Null: on for CUDA when the model
    /// has a candidates graph, off for the CPU (there the logits are in host memory already; measured in src/Qwen.Inference/README.md).
    /// </summary>
    public bool? SampleFromCandidates { get; init; }

    /// <summary>
    /// Decode batches of at least this many running rows are sampled on several threads (one sampler each); smaller ones on
    /// the engine loop thread. Measured in src/Qwen.Inference/README.md; tests set it low to take the parallel path.
    /// </summary>
    internal int ParallelSamplingMinRows { get; init; } = 8;

    /// <summary>
    /// With candidates on, decode steps of fewer running rows than this read full logits rows instead: the candidates graph
    /// is a second Run per step, which costs more than copying a few rows (measured on an H200, 0.5B fp16, engine bench:
    /// 1 row 401 tok/s full against 313 with candidates, 8 rows 1,983 against 2,032, 64 rows 2,087 against 5,494).
    /// </summary>
    internal int CandidatesMinRows { get; init; } = 8;

    /// <summary>
    /// Whether a row with these settings may be sampled from K candidates (false: its full logits come with the decode).
    /// <see cref="Sampler.MayUseCandidates"/>; tests replace it to send rows through the fallback that fetches full rows after.
    /// </summary>
    internal Func<SamplingParams, int, bool> MayUseCandidates { get; init; } = Sampler.MayUseCandidates;

    /// <summary>
    /// Automatic prefix caching: a new sequence reuses the longest token prefix already in the KV cache (a free slot keeps
    /// its contents until it is needed; a live slot's rows are copied) and prefills only the rest. False prefills every
    /// prompt from token 0.
    /// </summary>
    public bool PrefixCaching { get; init; } = true;

    /// <summary>File to cache the optimized graph in (reused on the next start); null disables it.</summary>
    public string? OptimizedModelPath { get; init; }
}
