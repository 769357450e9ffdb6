namespace Qwen.OnnxExport;

/// <summary>Weight and activation precision of an exported model.</summary>
public enum Precision
{
    /// <summary>float32 weights and activations: the reference.</summary>
    Fp32,

    /// <summary>float16 weights, activations and KV cache (for CUDA).</summary>
    Fp16,

    /// <summary>Block-wise int4 weights (MatMulNBits), float32 activations and KV cache.</summary>
    Int4,
}
