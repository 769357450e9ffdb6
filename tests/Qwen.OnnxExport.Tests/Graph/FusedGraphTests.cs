using Qwen.OnnxExport.Tests.Checkpoint;
using Qwen.OnnxExport.Tests.Reference;

namespace Qwen.OnnxExport.Tests.Graph;

/// <summary>
/// The fusions the exporter writes itself (onnx-export/README.md, "The graph"): each residual Add folded into the norm
/// that reads it (SkipSimplifiedLayerNormalization), and gate_proj and up_proj as one MatMul split in two. Checked both
/// as structure (what the graph holds) and as numbers (each layout against the naive reference forward pass).
/// </summary>
public sealed class FusedGraphTests
{
    // As ReferenceForwardTests: 1e-4 absolute on every logit.
    private const double Tolerance = 1e-4;

    [Theory]
    [InlineData("fp32", true)]
    [InlineData("fp16", true)]
    [InlineData("int4", false)]
    public void Graph_ResidualAddsAreSkipNorms_GateUpFusedForFloatPrecisions(string precision, bool fusedGateUp)
    {
        var graph = OnnxGraphFile.Read(Path.Combine(TinyModel.Directory(precision), "model.onnx"));
        const int Layers = 2; // the tiny preset
        int Count(string op) => graph.Nodes.Count(n => n.OpType == op);

        // Per layer: the attention norm (from layer 1 on: with the previous MLP's residual) and the MLP norm (with the
        // attention's residual); then the final norm with the last MLP's residual. Only layer 0's input norm has no Add.
        Assert.Equal(2 * Layers, Count("SkipSimplifiedLayerNormalization"));
        Assert.Equal(1, Count("SimplifiedLayerNormalization"));
        Assert.All(graph.Nodes.Where(n => n.OpType == "SkipSimplifiedLayerNormalization"), n => Assert.Equal("com.microsoft", n.Domain));
        // The only Adds left are the q/k/v biases.
        Assert.Equal(Layers, Count("Add"));
        Assert.Equal(fusedGateUp ? Layers : 0, Count("Split"));
        // qkv, o, gate+up (or gate, up), down; int4 quantizes lm_head too (a Gemm over the embedding otherwise).
        var linear = precision == "int4" ? Count("MatMulNBits") - 1 : Count("MatMul");
        Assert.Equal(Layers * (fusedGateUp ? 4 : 5), linear);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Fp32_GateUpFusedOrNot_MatchesReferenceAtEveryPosition(bool fusedGateUp)
    {
        using var dirs = new TestDirectories();
        var source = Path.Combine(TinyModel.Directory("fp32", "small"), "source");
        var dir = dirs.Temp("fused-gate-up");
        ModelExporter.Export(new ExportOptions { InputDirectory = source, OutputDirectory = dir, Precision = Precision.Fp32, FusedGateUp = fusedGateUp });
        var splits = OnnxGraphFile.Read(Path.Combine(dir, "model.onnx")).Nodes.Count(n => n.OpType == "Split");
        Assert.Equal(fusedGateUp, splits > 0);

        var worst = ReferenceForwardTests.StepByStepError(dir, source);
        Assert.True(worst < Tolerance, $"max logit error {worst} exceeds {Tolerance}");
    }
}
