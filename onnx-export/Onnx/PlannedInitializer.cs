namespace Qwen.OnnxExport.Onnx;

/// <summary>One initializer as the external data file holds it: name, element type, shape, and its byte range.</summary>
/// <param name="Name">The initializer's name in the graph.</param>
/// <param name="Type">Element type.</param>
/// <param name="Dims">Shape.</param>
/// <param name="Offset">Byte offset in the external data file (64-byte aligned).</param>
/// <param name="Length">Byte length (without the alignment padding that follows it).</param>
internal sealed record PlannedInitializer(string Name, OnnxType Type, long[] Dims, long Offset, long Length);
