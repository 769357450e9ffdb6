namespace Qwen.OnnxExport.Graph;

/// <summary>How <see cref="QwenGraph"/> lays out the model: precision, target, rotary table length, and how it streams weights.</summary>
/// <param name="Precision">Weight precision.</param>
/// <param name="MaxSeqLen">Rows of the rotary tables: the longest sequence the graph supports.</param>
internal sealed record GraphSettings(Precision Precision, int MaxSeqLen)
{
    /// <summary>Default of <see cref="ChunkBytes"/>: 64 MB of float32 rows, so a chunk's few buffers stay far below 1 GB.</summary>
    public const int DefaultChunkBytes = 64 << 20;

    /// <summary>Float32 bytes of checkpoint rows read, converted and written per step (at least one row); the output does not depend on it.</summary>
    public int ChunkBytes { get; init; } = DefaultChunkBytes;

    /// <summary>The execution provider the graph is laid out for (<see cref="OnnxExport.Target"/>).</summary>
    public Target Target { get; init; } = ExportOptions.DefaultTarget(Precision);

    /// <summary>float16 for fp16 and for anything laid out for CUDA, float32 otherwise: activations, KV cache and every float initializer.</summary>
    public bool HalfActivations => Precision == Precision.Fp16 || Target == Target.Cuda;

    /// <summary>For int4: quantize lm_head too (true), or keep it float32 (a Gemm over the [V,H] matrix, shared with a tied embedding).</summary>
    public bool Int4LmHead { get; init; } = true;

    /// <summary>
    /// gate_proj and up_proj as one MatMul over [H, 2I], split after (true), or two MatMuls. On by default for the float
    /// precisions (fp32 decode: onnx-export/README.md); off for int4, where one MatMulNBits of 2I outputs measured no gain.
    /// </summary>
    public bool FusedGateUp { get; init; } = Precision != Precision.Int4;

    /// <summary>
    /// For int4: weights per MatMulNBits block along K, each with its own scale. 32 (the default, as llama.cpp's q4_0) is
    /// the accurate choice; 128 is about 30% faster on this CPU at a coarser rounding (bench/README.md).
    /// </summary>
    public int Int4BlockSize { get; init; } = ExportOptions.DefaultInt4BlockSize;
}
