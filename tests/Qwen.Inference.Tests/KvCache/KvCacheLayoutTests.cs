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

    [Fact]
    public void CudaAllocation_Above4GiB_RefusedClearly()
    {
        var e = Assert.Throws<NotSupportedException>(() => DeviceSeam.CheckDeviceAllocation(5L << 30));
        Assert.Contains("5368709120", e.Message, StringComparison.Ordinal);
        DeviceSeam.CheckDeviceAllocation(uint.MaxValue);
    }
}
