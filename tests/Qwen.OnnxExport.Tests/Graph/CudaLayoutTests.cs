using System.Text.Json;
using Microsoft.ML.OnnxRuntime.Tensors;
using Qwen.OnnxExport.Tests.Reference;

namespace Qwen.OnnxExport.Tests.Graph;

/// <summary>
/// <c>--precision int4 --target cuda</c>: every float in the graph is float16, because ONNX Runtime's CUDA
/// GroupQueryAttention takes float16 or bfloat16 only, and MatMulNBits's scales share its input's type. The CPU int4
/// export is the contrast: float32 around the same ops, and accuracy level 4.
/// </summary>
public sealed class CudaLayoutTests
{
    [Fact]
    public void Int4ForCuda_IsFloat16AroundMatMulNBitsAndGroupQueryAttention()
    {
        var dir = TinyModel.Directory("int4", target: "cuda");
        var graph = OnnxGraphFile.Read(Path.Combine(dir, "model.onnx"));
        var nbits = graph.Nodes.Where(n => n.OpType == "MatMulNBits").ToList();
        var attention = graph.Nodes.Where(n => n.OpType == "GroupQueryAttention").ToList();
        Assert.Equal(2 * 5 + 1, nbits.Count); // per layer qkv, o, gate, up, down; and lm_head
        Assert.Equal(2, attention.Count);
        Assert.All(nbits, n => Assert.Equal(OnnxGraphFile.Float16, graph.Initializers[n.Inputs[2]])); // scales: type T1, the input's
        Assert.All(nbits, n => Assert.Equal(0, n.Attributes.GetValueOrDefault("accuracy_level"))); // as onnxruntime-genai writes it for CUDA
        Assert.All(attention, n => Assert.Equal([OnnxGraphFile.Float16, OnnxGraphFile.Float16], [graph.Initializers[n.Inputs[7]], graph.Initializers[n.Inputs[8]]])); // cos, sin: type T
        // No float32 initializer anywhere, and the graph's float inputs are float16 (ONNX Runtime checked the types when it
        // loaded the session): every activation is float16 until the one Cast that writes the float32 logits.
        Assert.DoesNotContain(OnnxGraphFile.Float, graph.Initializers.Values);
        Assert.Equal(["logits"], graph.Nodes.Where(n => n.OpType == "Cast").SelectMany(n => n.Outputs));
        using var ort = new OrtDecoder(dir, slots: 1, cacheLen: 8);
        Assert.All(ort.Session.InputMetadata.Where(i => i.Key.StartsWith("past_key_values.", StringComparison.Ordinal)), i => Assert.Equal(TensorElementType.Float16, i.Value.ElementDataType));
        Assert.Equal(TensorElementType.Float, ort.Session.OutputMetadata["logits"].ElementDataType);

        using var manifest = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "manifest.json")));
        Assert.Equal(("int4", "cuda", "float16"), (Field(manifest, "precision"), Field(manifest, "target"), Field(manifest, "kv_cache_dtype")));
    }

    [Fact]
    public void Int4ForCpu_IsFloat32WithAccuracyLevel4()
    {
        var dir = TinyModel.Directory("int4");
        var graph = OnnxGraphFile.Read(Path.Combine(dir, "model.onnx"));
        var nbits = graph.Nodes.Where(n => n.OpType == "MatMulNBits").ToList();
        Assert.NotEmpty(nbits);
        Assert.All(nbits, n => Assert.Equal((OnnxGraphFile.Float, 4L), (graph.Initializers[n.Inputs[2]], n.Attributes["accuracy_level"])));
        Assert.All(graph.Nodes.Where(n => n.OpType == "GroupQueryAttention"), n => Assert.Equal(OnnxGraphFile.Float, graph.Initializers[n.Inputs[7]]));
        using var manifest = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "manifest.json")));
        Assert.Equal(("int4", "cpu", "float32"), (Field(manifest, "precision"), Field(manifest, "target"), Field(manifest, "kv_cache_dtype")));
    }

    [Theory]
    [InlineData("fp32", "cpu")]
    [InlineData("fp16", "cuda")]
    public void OtherPrecisions_RecordTheirOwnTarget(string precision, string target)
    {
        using var manifest = JsonDocument.Parse(File.ReadAllText(Path.Combine(TinyModel.Directory(precision), "manifest.json")));
        Assert.Equal(target, Field(manifest, "target"));
    }

    private static string? Field(JsonDocument manifest, string name) => manifest.RootElement.GetProperty(name).GetString();
}
