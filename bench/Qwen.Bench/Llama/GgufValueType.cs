namespace Qwen.Bench.Llama;

/// <summary>The type tag of a GGUF metadata value (the spec's <c>gguf_metadata_value_type</c>).</summary>
internal enum GgufValueType : uint
{
    /// <summary>Unsigned 32-bit integer.</summary>
    UInt32 = 4,

    /// <summary>Signed 32-bit integer.</summary>
    Int32 = 5,

    /// <summary>32-bit float.</summary>
    Float32 = 6,

    /// <summary>One byte, 0 or 1.</summary>
    Bool = 7,

    /// <summary>uint64 length, then UTF-8 bytes without a terminator.</summary>
    String = 8,

    /// <summary>Element type (uint32), uint64 count, then the elements.</summary>
    Array = 9,
}
