namespace Qwen.OnnxExport;

/// <summary>The execution provider an export is laid out for: it decides the activation and KV cache type around the weights.</summary>
public enum Target
{
    /// <summary>
    /// ONNX Runtime's CPU provider: float32 activations and KV cache, which int4's MatMulNBits at accuracy level 4 wants
    /// (int8 activations inside, 2–5× faster than level 0 on the CPU).
    /// </summary>
    Cpu,

    /// <summary>
    /// ONNX Runtime's CUDA provider: float16 activations and KV cache, because its GroupQueryAttention kernel is registered
    /// for float16 and bfloat16 only (a float32 attention would run on the CPU against a KV cache in device memory).
    /// Runs on the CPU too, more slowly.
    /// </summary>
    Cuda,
}
