using System.Text.Json.Nodes;
using Qwen.Inference.Engine;
using Qwen.Inference.Model;
using Qwen.OnnxExport;

namespace Qwen.Inference.Tests.Model;

/// <summary>
/// The engine refuses, before loading anything, a graph whose attention has no CUDA kernel (fp32, and int4 laid out for the
/// CPU), naming the export to use; it lets the CUDA layouts through to the provider, and refuses nothing on the CPU. This
/// build has only the CPU provider, so a graph let through under cuda fails next on the provider itself: that is the proof
/// that the refusal came first and only for the graphs it names.
/// </summary>
public sealed class ProviderKernelsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("qwen-kernels-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData("fp32", null, "this fp32 export is laid out for the cpu (float32 attention and KV cache)", "onnx-export --precision fp16 (or --precision int4 --target cuda)")]
    [InlineData("int4", null, "this int4 export is laid out for the cpu (float32 attention and KV cache)", "onnx-export --precision int4 --target cuda")]
    public void Cuda_RefusesFloat32Attention_NamingTheExportToUse(string precision, string? target, string what, string instead)
    {
        var e = Assert.Throws<NotSupportedException>(() => OnnxModelRunner.Create(RandomModelCache.GetOrCreate("tiny", precision, 1234, target: target), Options("cuda")));
        Assert.StartsWith(what, e.Message, StringComparison.Ordinal);
        Assert.Contains("CUDA GroupQueryAttention takes float16 or bfloat16 only", e.Message, StringComparison.Ordinal);
        Assert.Contains($"Export the checkpoint for CUDA with {instead}, or run this one with the execution provider cpu", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Theory]
    [InlineData("fp16", null)]
    [InlineData("int4", "cuda")]
    public void Cuda_LetsFloat16LayoutsThroughToTheProvider(string precision, string? target)
    {
        var e = Assert.Throws<InvalidOperationException>(() => OnnxModelRunner.Create(RandomModelCache.GetOrCreate("tiny", precision, 1234, target: target), Options("cuda")));
        Assert.Contains("execution provider 'cuda' is not available in this build", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("fp32", null)]
    [InlineData("int4", null)]
    [InlineData("fp16", null)]
    [InlineData("int4", "cuda")]
    public void Cpu_RunsEveryLayout(string precision, string? target)
    {
        using var runner = OnnxModelRunner.Create(RandomModelCache.GetOrCreate("tiny", precision, 1234, target: target), Options("cpu"));
        Assert.Equal(target ?? (precision == "fp16" ? "cuda" : "cpu"), runner.Manifest.Target);
    }

    [Theory]
    [InlineData("float32", "cpu", "this fp32 export is laid out for the cpu")]
    [InlineData("float16", "cuda", null)]
    public void ManifestWithoutTarget_IsReadByItsKvCacheType(string kvCacheDtype, string target, string? refusal)
    {
        var json = JsonNode.Parse(File.ReadAllText(Path.Combine(RandomModelCache.GetOrCreate("tiny", "fp32", 1234), "manifest.json")))!.AsObject();
        json.Remove("target");
        json["kv_cache_dtype"] = kvCacheDtype;
        File.WriteAllText(Path.Combine(_dir, "manifest.json"), json.ToJsonString());
        File.WriteAllBytes(Path.Combine(_dir, "model.onnx"), []);
        File.WriteAllBytes(Path.Combine(_dir, "candidates.onnx"), []);
        var manifest = ModelManifest.Load(_dir);
        Assert.Equal(target, manifest.Target);
        var why = ProviderKernels.Refusal(manifest, "cuda");
        Assert.True(refusal is null ? why is null : why?.StartsWith(refusal, StringComparison.Ordinal) == true, why);
        Assert.Null(ProviderKernels.Refusal(manifest, "cpu"));
    }

    private static EngineOptions Options(string provider) => new() { ExecutionProvider = provider, MaxNumSeqs = 1, MaxModelLen = 32, IntraOpThreads = 1, KvCacheBytes = provider == "cuda" ? 65_536 : null };
}
