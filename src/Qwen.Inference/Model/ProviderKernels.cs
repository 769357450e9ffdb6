namespace Qwen.Inference.Model;

/// <summary>
/// Whether an execution provider has a kernel for every op of an exported graph at the graph's types, from ONNX Runtime's
/// kernel registrations (1.32.0, contrib_ops/cuda/cuda_contrib_kernels.cc): on CUDA, GroupQueryAttention is registered for
/// float16 and bfloat16 only, while MatMulNBits, MatMul, Gemm and SimplifiedLayerNormalization also take float32. ONNX
/// Runtime itself only warns when a node falls back to the CPU, and a float32 attention on the CPU against a KV cache in
/// device memory gave wrong tokens from the first decode step (shared notes, 1.32.0 CUDA), so the engine refuses such a
/// graph before loading it. Every graph's attention runs at its KV cache type, which the manifest states.
/// </summary>
internal static class ProviderKernels
{
    /// <summary>Null when <paramref name="executionProvider"/> runs every op of the graph; otherwise why not, and which export to use instead.</summary>
    public static string? Refusal(ModelManifest manifest, string executionProvider)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        if (!executionProvider.Equals("cuda", StringComparison.OrdinalIgnoreCase) || manifest.KvCacheDtype == "float16")
        {
            return null; // the CPU provider runs every op at float32 and float16
        }
        var instead = manifest.Precision == "int4" ? "onnx-export --precision int4 --target cuda" : "onnx-export --precision fp16 (or --precision int4 --target cuda)";
        return $"this {manifest.Precision} export is laid out for the {manifest.Target} ({manifest.KvCacheDtype} attention and KV cache), and ONNX Runtime's CUDA GroupQueryAttention takes float16 or bfloat16 only: its attention would run on the CPU against a KV cache in device memory (wrong tokens). Export the checkpoint for CUDA with {instead}, or run this one with the execution provider cpu";
    }
}
