namespace Qwen.Bench.Llama;

/// <summary>What a GGUF of ours stores its matrices as.</summary>
internal enum GgufPrecision
{
    /// <summary>Every tensor float32, the checkpoint's values exactly (BF16 widens without rounding).</summary>
    F32,

    /// <summary>The matrices our int4 export quantizes, as q4_0; norms, biases and the embedding table float32.</summary>
    Q4_0,
}
