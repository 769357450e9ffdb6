using Qwen.Inference.Engine;
using Qwen.Inference.KvCache;
using Qwen.Inference.Model;
using Qwen.Inference.Tests.Engine;

namespace Qwen.Inference.Tests.KvCache;

/// <summary>The KV cache sized by slots or by a memory budget, against sizes computed by hand.</summary>
public sealed class KvCacheLayoutTests
{
    // Qwen2.5-0.5B's geometry: 24 layers, 2 kv heads of 64, fp32: 2 * 24 * 2 * 64 * 4 = 24,576 bytes per token.
    private static readonly ModelManifest Half = new() { FormatVersion = 1, NumLayers = 24, NumKvHeads = 2, HeadDim = 64, VocabSize = 151_936, MaxSeqLen = 32_768 };

    [Fact]
    public void Resolve_NoBudget_SlotsAreMaxNumSeqs()
    {
        var layout = KvCacheLayout.Resolve(Half, new EngineOptions { MaxNumSeqs = 8, MaxModelLen = 4096 });
        Assert.Equal((8, 4096, 24_576L), (layout.Slots, layout.TokensPerSlot, layout.BytesPerToken));
        Assert.Equal(100_663_296L, layout.BytesPerSlot); // 24,576 * 4096
        Assert.Equal(805_306_368L, layout.TotalBytes);   // 768 MiB
        Assert.Equal(32_768L, layout.TotalTokens);
    }

    [Theory]
    [InlineData(1L << 30, 10)]                 // 1 GiB / 96 MiB = 10.67
    [InlineData(100_663_296L, 1)]              // exactly one slot
    [InlineData((100_663_296L * 3) - 1, 2)]    // one byte short of three
    public void Resolve_Budget_SlotsAreTheFloorOfBudgetOverSlotBytes(long budget, int slots)
    {
        var layout = KvCacheLayout.Resolve(Half, new EngineOptions { MaxNumSeqs = 8, MaxModelLen = 4096, KvCacheBytes = budget });
        Assert.Equal(slots, layout.Slots);
        Assert.True(layout.TotalBytes <= budget);
    }

    [Fact]
    public void Resolve_Fp16CacheAndModelLenAboveTheGraph_HalfTheBytesCappedTokens()
    {
        var layout = KvCacheLayout.Resolve(Half with { KvCacheDtype = "float16", MaxSeqLen = 2048 }, new EngineOptions { MaxModelLen = 4096, KvCacheBytes = 1L << 30 });
        Assert.Equal((2048, 12_288L), (layout.TokensPerSlot, layout.BytesPerToken));
        Assert.Equal(42, layout.Slots); // 1 GiB / (12,288 * 2048 = 24 MiB) = 42.67
    }

    [Fact]
    public void Resolve_BudgetBelowOneSlot_ArgumentExceptionNamesOptionSlotBytesAndBudget()
    {
        var e = Assert.Throws<ArgumentException>(() => KvCacheLayout.Resolve(Half, new EngineOptions { MaxModelLen = 4096, KvCacheBytes = 1_000_000 }));
        Assert.Contains("KvCacheBytes", e.Message, StringComparison.Ordinal);
        Assert.Contains("100663296", e.Message, StringComparison.Ordinal);
        Assert.Contains("1000000", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task OnnxRunner_Budget_AllocatesTheDerivedSlots()
    {
        // The tiny model: 2 layers, 2 kv heads of 16, fp32 -> 512 bytes per token, 65,536 per 128-token slot; 3.5 slots -> 3.
        var options = new EngineOptions { MaxNumSeqs = 1, MaxModelLen = 128, IntraOpThreads = 1, KvCacheBytes = 229_376 };
        var runner = OnnxModelRunner.Create(EngineBatchingTests.TinyModel, options);
        Assert.Equal(3, runner.MaxNumSeqs);
        Assert.Equal(new KvCacheLayout(3, 128, 512), runner.KvCache);
        Assert.Equal(196_608, runner.KvCacheBytes);
        await using var engine = new InferenceEngine(runner, options);
        Assert.Equal(3, engine.GetStats().SlotsTotal);
        var tokens = await Task.WhenAll(Enumerable.Range(0, 3).Select(i => EngineBatchingTests.Collect(engine, EngineBatchingTests.Greedy(EngineBatchingTests.Prompt(i, 4), 3), CancellationToken.None)));
        Assert.All(tokens, t => Assert.Equal(3, t.Length));
    }

    [Fact]
    public void OnnxRunner_BudgetTooSmall_Throws()
    {
        var e = Assert.Throws<ArgumentException>(() => OnnxModelRunner.Create(EngineBatchingTests.TinyModel, new EngineOptions { MaxModelLen = 128, KvCacheBytes = 65_535 }));
        Assert.Contains("65536", e.Message, StringComparison.Ordinal);
    }

    // Device readings for FromDeviceMemory, by hand. Half's slot at MaxModelLen 4096 is 96 MiB (100,663,296 bytes).
    private const long GiB = 1L << 30;
    private const long MiB = 1L << 20;

    [Theory]
    [InlineData(16 * GiB, 13 * GiB, 0.75, 128, 96, 96)]      // 0.75 x 16 GiB = 12 GiB, 3 GiB in use: 9 GiB / 96 MiB = 96 exactly
    [InlineData(16 * GiB, (13 * GiB) - 1, 0.75, 128, 95, 95)] // one byte less: 95
    [InlineData(16 * GiB, 13 * GiB, 0.75, 8, 96, 8)]         // MaxNumSeqs caps what the memory allows
    [InlineData(16 * GiB, 13 * GiB, 1.0, 1024, 138, 138)]    // u = 1: all that is free, 13 GiB / 96 MiB = 138.67
    [InlineData(80 * GiB, 70 * GiB, 0.9, 1024, 661, 661)]    // 72 GiB - 10 GiB in use = 62 GiB = 63,488 MiB / 96 = 661.33
    public void FromDeviceMemory_Reading_SlotsAreTheBudgetOverSlotBytesCappedByMaxNumSeqs(long total, long free, double u, int maxNumSeqs, long allowed, int slots)
    {
        var layout = KvCacheLayout.FromDeviceMemory(Half, new EngineOptions { MaxNumSeqs = maxNumSeqs, MaxModelLen = 4096, GpuMemoryUtilization = u }, free, total);
        Assert.Equal((slots, 4096, 24_576L), (layout.Slots, layout.TokensPerSlot, layout.BytesPerToken));
        Assert.Equal((free, total, u, allowed), (layout.Device!.FreeBytes, layout.Device.TotalBytes, layout.Device.Utilization, layout.Device.SlotsAllowed));
        Assert.True(layout.TotalBytes <= layout.Device.BudgetBytes);
    }

    [Theory]
    [InlineData((4 * GiB) + (50 * MiB), 52_428_800L)] // 12 GiB allowed, 12 GiB - 50 MiB in use: 50 MiB left, less than a slot
    [InlineData(2 * GiB, -2 * GiB)]                   // the device is already fuller than 0.75 of it
    public void FromDeviceMemory_BudgetBelowOneSlot_ErrorHasTheNumbersAndWhatToChange(long free, long budget)
    {
        var e = Assert.Throws<ArgumentException>(() => KvCacheLayout.FromDeviceMemory(Half, new EngineOptions { MaxModelLen = 4096, GpuMemoryUtilization = 0.75 }, free, 16 * GiB));
        foreach (var part in new[] { $"{free} bytes", "17179869184 bytes", "GpuMemoryUtilization 0.75", $"leaves {budget} bytes", "takes 100663296 bytes", "24576 bytes per token", "raise GpuMemoryUtilization", "lower MaxModelLen", "--kv-cache-memory" })
        {
            Assert.Contains(part, e.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void FromDeviceMemory_ExplicitKvCacheBytes_WinsOverTheUtilization()
    {
        // The reading would allow 96 slots (first case above); the 1 GiB budget holds 10 (1 GiB / 96 MiB = 10.67).
        var layout = KvCacheLayout.FromDeviceMemory(Half, new EngineOptions { MaxNumSeqs = 128, MaxModelLen = 4096, GpuMemoryUtilization = 0.75, KvCacheBytes = GiB }, 13 * GiB, 16 * GiB);
        Assert.Equal(new KvCacheLayout(10, 4096, 24_576), layout);
        Assert.Null(layout.Device);
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(-0.5)]
    [InlineData(1.01)]
    [InlineData(double.NaN)]
    public void FromDeviceMemory_UtilizationOutsideZeroToOne_Throws(double u)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => KvCacheLayout.FromDeviceMemory(Half, new EngineOptions { GpuMemoryUtilization = u }, 13 * GiB, 16 * GiB));
        Assert.Contains("GpuMemoryUtilization must be in (0, 1]", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void OnnxRunner_CpuProvider_IgnoresGpuMemoryUtilization()
    {
        // A utilisation that would leave no room on any device: the CPU sizes by MaxNumSeqs all the same (tiny model, 512 bytes per token).
        using var runner = OnnxModelRunner.Create(EngineBatchingTests.TinyModel, new EngineOptions { MaxNumSeqs = 2, MaxModelLen = 128, IntraOpThreads = 1, GpuMemoryUtilization = 1e-9 });
        Assert.Equal(new KvCacheLayout(2, 128, 512), runner.KvCache);
        Assert.Null(runner.KvCache.Device);
    }

    [Fact]
    public void CudaSeam_ExplicitKvCacheBytes_SizesWithoutReadingTheDevice()
    {
        // No CUDA runtime is needed for this: with a budget the seam never asks the device (128 KiB / 64 KiB slots = 2).
        var options = new EngineOptions { ExecutionProvider = "cuda", MaxModelLen = 128, KvCacheBytes = 131_072 };
        using var seam = new DeviceSeam(options);
        Assert.Equal(new KvCacheLayout(2, 128, 512), seam.ResolveKvCache(ModelManifest.Load(EngineBatchingTests.TinyModel), options));
    }

    [Fact]
    public void CudaRuntime_MemoryInfo_ReadsTheDeviceOrNamesTheMissingLibrary()
    {
        // Either branch can fail: a machine with the CUDA 13 runtime must give a sane reading, one without it a clear error.
        try
        {
            var (free, total) = CudaRuntime.MemoryInfo(0);
            Assert.InRange(free, 0, total);
            Assert.True(total > 0);
        }
        catch (InvalidOperationException e)
        {
            Assert.Contains("libcudart.so.13", e.Message, StringComparison.Ordinal);
            Assert.Contains("--kv-cache-memory", e.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void CudaAllocation_Above4GiB_RefusedClearly()
    {
        var e = Assert.Throws<NotSupportedException>(() => DeviceSeam.CheckDeviceAllocation(5L << 30));
        Assert.Contains("5368709120", e.Message, StringComparison.Ordinal);
        DeviceSeam.CheckDeviceAllocation(uint.MaxValue);
    }
}
