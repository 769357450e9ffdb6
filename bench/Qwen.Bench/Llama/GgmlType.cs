namespace Qwen.Bench.Llama;

/// <summary>The ggml tensor types a GGUF file of ours holds (values of ggml.h's <c>enum ggml_type</c>).</summary>
internal enum GgmlType : uint
{
    /// <summary>32-bit floats.</summary>
    F32 = 0,

    /// <summary>Blocks of 32 weights: one float16 scale and 16 bytes of 4-bit values (<see cref="Q4_0"/>).</summary>
    Q4_0 = 2,
}
