using Qwen.Reference;
using Xunit.Abstractions;

namespace Qwen.OnnxExport.Tests.Checkpoint;

/// <summary>F32 and F16 checkpoints (the random presets only write BF16): the same model, exported through the same path.</summary>
public sealed class CheckpointDtypeTests(ITestOutputHelper output) : IDisposable
{
    private readonly TestDirectories _dirs = new();

    public void Dispose() => _dirs.Dispose();

    /// <summary>The tiny checkpoint's BF16 weights re-encoded as <paramref name="dtype"/>, with config.json's torch_dtype to match.</summary>
    private string Reencoded(string dtype, string torchDtype) => _dirs.Copy(d =>
    {
        var path = Path.Combine(d, "model.safetensors");
        TestCheckpoint.Write(path, TestCheckpoint.Read(path).Select(t => TestCheckpoint.Convert(t, dtype)));
        TestCheckpoint.EditConfig(d, c => c["torch_dtype"] = torchDtype);
    });

    [Theory]
    [InlineData("fp32")]
    [InlineData("fp16")]
    [InlineData("int4")]
    public void F32Checkpoint_HoldsTheSameValues_ExportsTheSameBytesAsBf16(string precision)
    {
        // Every BF16 value is exact in F32, so the export must not differ by a single byte.
        var output = _dirs.Temp("f32");
        ModelExporter.Export(new ExportOptions { InputDirectory = Reencoded("F32", "float32"), OutputDirectory = output, Precision = RandomModelCache.ParsePrecision(precision) });
        var bf16 = TinyModel.Directory(precision);
        foreach (var file in new[] { "model.onnx", "model.onnx.data" })
        {
            Assert.Equal(TestCheckpoint.Hash(Path.Combine(bf16, file)), TestCheckpoint.Hash(Path.Combine(output, file)));
        }
    }

    [Fact]
    public void F16Checkpoint_ExportedFp32Graph_MatchesReferenceForwardPassOfTheF16Weights()
    {
        // F16 cannot hold every BF16 value (tiny ones become subnormal), so the oracle is the reference forward pass
        // over the F16 file itself, read by the tests' own reader.
        var source = Reencoded("F16", "float16");
        var dir = _dirs.Temp("f16");
        ModelExporter.Export(new ExportOptions { InputDirectory = source, OutputDirectory = dir });
        var reference = new ReferenceQwen2(source).Forward(TinyModel.Prompt);
        using var ort = new OrtDecoder(dir, slots: 1, cacheLen: 64);
        var worst = 0.0;
        for (var t = 0; t < TinyModel.Prompt.Length; t++)
        {
            var logits = t == 0 ? ort.Prefill(0, [TinyModel.Prompt[0]], 0) : ort.Decode([TinyModel.Prompt[t]], [t])[0];
            worst = Math.Max(worst, logits.Select((v, i) => Math.Abs(v - reference[t][i])).Max());
        }
        output.WriteLine($"F16 checkpoint: max |ORT - reference| over {TinyModel.Prompt.Length} positions = {worst:E3}");
        Assert.True(worst < 1e-4, $"max logit error {worst} exceeds 1e-4");
    }
}
