namespace Qwen.OnnxExport.Onnx;

/// <summary>ONNX tensor element types (TensorProto.DataType).</summary>
internal enum OnnxType
{
    /// <summary>float32.</summary>
    Float = 1,

    /// <summary>uint8 (packed int4 weights).</summary>
    UInt8 = 2,

    /// <summary>int32.</summary>
    Int32 = 6,

    /// <summary>int64.</summary>
    Int64 = 7,

    /// <summary>float16.</summary>
    Float16 = 10,

    /// <summary>float64.</summary>
    Double = 11,
}
