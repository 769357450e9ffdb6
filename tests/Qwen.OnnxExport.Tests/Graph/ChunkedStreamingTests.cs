using Qwen.OnnxExport.Tests.Checkpoint;

namespace Qwen.OnnxExport.Tests.Graph;

/// <summary>Weights streamed in tiny row chunks give the very bytes of an export that moves each tensor in one piece.</summary>
public sealed class ChunkedStreamingTests
{
    // Chunk sizes chosen so no chunk divides a tensor's rows: chunks end mid-tensor, cross from q into k and v, and the
    // last one is short. 3,172 bytes: 12 of the tiny model's 64-float rows, 4 of its 192-float MLP rows.
    // 13,412 bytes: 13 of the small model's 256-float rows, 4 of its 704-float MLP rows; 49,500 bytes: 48 and 17 of them
    // (fewer, larger strided writes for the transposed fp32 weights).
    [Theory]
    [InlineData("tiny", "fp32", 3172)]
    [InlineData("tiny", "fp16", 3172)]
    [InlineData("tiny", "int4", 3172)]
    [InlineData("tiny", "fp32", 1)]
    [InlineData("small", "fp32", 49500)]
    [InlineData("small", "int4", 13412)]
    public void TinyChunks_SameBytesAsWholeTensors(string preset, string precision, int chunkBytes)
    {
        // The cached model was written with the default chunk (64 MB): every tensor of these presets in one piece.
        var whole = TinyModel.Directory(precision, preset);
        var chunked = Path.Combine(Path.GetTempPath(), $"qwen-chunked-{Guid.NewGuid():N}");
        ModelExporter.Export(new ExportOptions
        {
            InputDirectory = Path.Combine(whole, "source"),
            OutputDirectory = chunked,
            Precision = RandomModelCache.ParsePrecision(precision),
            ChunkBytes = chunkBytes, // 1: a single row per chunk
        });
        Assert.Equal(new FileInfo(Path.Combine(whole, "model.onnx.data")).Length, new FileInfo(Path.Combine(chunked, "model.onnx.data")).Length);
        foreach (var file in new[] { "model.onnx", "model.onnx.data" })
        {
            Assert.Equal(TestCheckpoint.Hash(Path.Combine(whole, file)), TestCheckpoint.Hash(Path.Combine(chunked, file)));
        }
        Directory.Delete(chunked, recursive: true);
    }
}
