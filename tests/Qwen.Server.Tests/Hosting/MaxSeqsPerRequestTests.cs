using Qwen.Server.Hosting;

namespace Qwen.Server.Tests.Hosting;

/// <summary>MaxSeqsPerRequest: resolved from the slots the engine got (default half, at least 1), never beyond them.</summary>
public sealed class MaxSeqsPerRequestTests
{
    [Theory]
    [InlineData(8, 0, 4)] // the demo's 8 slots: half of them by default
    [InlineData(3, 0, 1)]
    [InlineData(1, 0, 1)] // at least 1
    [InlineData(8, 8, 8)] // an explicit cap up to the slots
    [InlineData(8, 1, 1)]
    public async Task Load_Cap_ResolvedFromTheEnginesSlots(int slots, int setting, int expected)
    {
        await using var host = ModelHost.Load(new ServerOptions { Model = TestModels.Tiny, MaxNumSeqs = slots, MaxModelLen = 256, MaxSeqsPerRequest = setting }, new CapturingLogger(), QwenServerApp.Sources, (_, o) => new ScriptedRunner(151936, o.MaxNumSeqs, o.MaxModelLen));
        Assert.Equal(expected, host.MaxSeqsPerRequest);
    }

    [Fact]
    public void Load_CapBeyondTheSlotsTheModelGot_StartupErrorNamingThem()
    {
        // MaxNumSeqs allows 8, but the runner (as a memory budget would) gives 3 slots: only known once it is loaded.
        var options = new ServerOptions { Model = TestModels.Tiny, MaxNumSeqs = 8, MaxModelLen = 256, MaxSeqsPerRequest = 4 };
        Assert.Empty(options.Validate());
        var e = Assert.Throws<StartupException>(() => ModelHost.Load(options, new CapturingLogger(), QwenServerApp.Sources, (_, o) => new ScriptedRunner(151936, 3, o.MaxModelLen)));
        Assert.Equal("MaxSeqsPerRequest (--max-seqs-per-request, QWEN_MAX_SEQS_PER_REQUEST) must be at most the 3 KV cache slots the model was given, or 0 for half of them (given 4)", e.Message);
    }

    [Theory]
    [InlineData(9, null, "MaxSeqsPerRequest (--max-seqs-per-request, QWEN_MAX_SEQS_PER_REQUEST) must be at most MaxNumSeqs (8), the KV cache slots, or 0 for half of them (given 9)")]
    [InlineData(-1, null, "MaxSeqsPerRequest (--max-seqs-per-request, QWEN_MAX_SEQS_PER_REQUEST) must be in [0, 1024] (given -1)")]
    [InlineData(9, "1GiB", null)] // a budget may give more slots than MaxNumSeqs: checked once the model is loaded
    [InlineData(8, null, null)]
    public void Validate_CapBeyondMaxNumSeqs_RefusedBeforeTheModelLoads(int setting, string? budget, string? problem)
    {
        var problems = new ServerOptions { MaxNumSeqs = 8, MaxSeqsPerRequest = setting, KvCacheMemory = budget }.Validate();
        Assert.Equal(problem is null ? [] : [problem], problems);
    }
}
