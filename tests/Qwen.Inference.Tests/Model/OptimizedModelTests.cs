using Microsoft.ML.OnnxRuntime;
using Qwen.Inference.Engine;
using Qwen.Inference.Model;
using Qwen.Inference.Tests.Engine;

namespace Qwen.Inference.Tests.Model;

/// <summary>The optimized-graph cache is marked valid only once ONNX Runtime has written it.</summary>
public sealed class OptimizedModelTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("qwen-optimized-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Resolve_FirstStart_NoStampUntilCommit_StaleStampRemoved()
    {
        var cache = Path.Combine(_dir, "model.opt.onnx");
        File.WriteAllText(cache + ".source", "stale");
        File.WriteAllText(cache, "half-written by a crashed start");
        var manifest = ModelManifest.Load(EngineBatchingTests.TinyModel);
        using var options = new SessionOptions();
        var plan = OptimizedModel.Resolve(Path.Combine(EngineBatchingTests.TinyModel, "model.onnx"), manifest, cache, "cpu", options);
        Assert.Equal(Path.Combine(EngineBatchingTests.TinyModel, "model.onnx"), plan.LoadPath);
        Assert.False(File.Exists(cache + ".source")); // a crash from here on leaves the cache invalid
        plan.Commit();
        Assert.True(File.Exists(cache + ".source"));
    }

    [Fact]
    public void Resolve_AnotherExecutionProvider_DoesNotLoadTheCache()
    {
        // A graph optimized for the CPU holds the CPU's fused kernels: CUDA must optimize its own.
        var cache = Path.Combine(_dir, "model.opt.onnx");
        var model = Path.Combine(EngineBatchingTests.TinyModel, "model.onnx");
        var manifest = ModelManifest.Load(EngineBatchingTests.TinyModel);
        using (var first = new SessionOptions())
        {
            File.WriteAllText(cache, "optimized for the cpu");
            OptimizedModel.Resolve(model, manifest, cache, "cpu", first).Commit();
        }
        using var again = new SessionOptions();
        Assert.Equal(cache, OptimizedModel.Resolve(model, manifest, cache, "cpu", again).LoadPath);
        using var cuda = new SessionOptions();
        Assert.Equal(model, OptimizedModel.Resolve(model, manifest, cache, "cuda", cuda).LoadPath);
    }

    [Fact]
    public async Task Runner_SecondStartLoadsTheCache_SameGreedyTokens()
    {
        var cache = Path.Combine(_dir, "model.opt.onnx");
        var options = new EngineOptions { MaxNumSeqs = 1, MaxModelLen = 64, IntraOpThreads = 1, OptimizedModelPath = cache };
        var request = EngineBatchingTests.Greedy(EngineBatchingTests.Prompt(5, 6), 4);
        int[] first;
        await using (var engine = InferenceEngine.Load(EngineBatchingTests.TinyModel, options))
        {
            first = await EngineBatchingTests.Collect(engine, request, CancellationToken.None);
        }
        Assert.True(File.Exists(cache));
        Assert.True(File.Exists(cache + ".source"));
        var stamp = File.GetLastWriteTimeUtc(cache);
        await using (var engine = InferenceEngine.Load(EngineBatchingTests.TinyModel, options))
        {
            Assert.Equal(first, await EngineBatchingTests.Collect(engine, request, CancellationToken.None));
        }
        Assert.Equal(stamp, File.GetLastWriteTimeUtc(cache)); // loaded, not rewritten
    }
}
