using Qwen.Inference.Engine;
using Qwen.Inference.Sampling;

namespace Qwen.Inference.Tests.Scheduling;

/// <summary>The scheduler's rule, observed through the engine over a fake model: admission, interleaving, freeing, limits.</summary>
/// <remarks>Not run in parallel with other classes: the stress test reads process-wide managed memory.</remarks>
[Collection(nameof(SerialCollection))]
public sealed class SchedulerTests
{
    private static GenerationRequest Request(int[] prompt, int max) => new(prompt, new SamplingParams(), max, []);

    private static int[] Prompt(int seed, int length) => Enumerable.Range(0, length).Select(i => ((seed * 31) + (i * 7)) % 997 + 1).ToArray();

    private static async Task<List<int>> Collect(InferenceEngine engine, GenerationRequest request, CancellationToken ct = default)
    {
        var list = new List<int>();
        await foreach (var t in engine.GenerateAsync(request, ct))
        {
            list.Add(t.TokenId);
        }
        return list;
    }

    [Fact]
    public async Task ManyRequests_MoreThanSlots_EachGetsItsAloneOutput()
    {
        var runner = new FakeRunner();
        await using var engine = new InferenceEngine(runner, new EngineOptions { MaxNumSeqs = 4, MaxModelLen = 256, MaxWaiting = 64, PrefillChunkSize = 5 });
        var prompts = Enumerable.Range(0, 20).Select(i => Prompt(i, 3 + (i * 5 % 17))).ToArray();
        var results = await Task.WhenAll(prompts.Select((p, i) => Collect(engine, Request(p, 4 + (i % 9)))));
        for (var i = 0; i < prompts.Length; i++)
        {
            Assert.Equal(FakeRunner.Expected(prompts[i], 4 + (i % 9)), results[i]);
        }
        await SpinUntil(() => engine.GetStats().SlotsUsed == 0); // the stats are refreshed at the end of the step that ended them

    }

    [Fact]
    public async Task Cancellation_WaitingAndRunning_FreesSlotsAndStaysFifo()
    {
        var runner = new FakeRunner(maxNumSeqs: 1) { Delay = TimeSpan.FromMilliseconds(2) };
        await using var engine = new InferenceEngine(runner, new EngineOptions { MaxNumSeqs = 1, MaxModelLen = 256, MaxWaiting = 8 });
        using var cancelRunning = new CancellationTokenSource();
        using var cancelWaiting = new CancellationTokenSource();
        var first = Collect(engine, Request(Prompt(1, 3), 10_000), cancelRunning.Token);
        var waiting = Collect(engine, Request(Prompt(2, 3), 5), cancelWaiting.Token);
        var third = Collect(engine, Request(Prompt(3, 3), 5));
        await SpinUntil(() => engine.GetStats().Running == 1);
        await cancelWaiting.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting);
        await cancelRunning.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => first);
        Assert.Equal(FakeRunner.Expected(Prompt(3, 3), 5), await third);
        await SpinUntil(() => engine.GetStats() is { Running: 0, Waiting: 0, SlotsUsed: 0 });
    }

    [Fact]
    public async Task QueueFull_ThrowsOverloadedAtOnce_PromptTooLongRejectedUpFront()
    {
        var runner = new FakeRunner(maxNumSeqs: 1, maxModelLen: 64) { Delay = TimeSpan.FromMilliseconds(5) };
        await using var engine = new InferenceEngine(runner, new EngineOptions { MaxNumSeqs = 1, MaxModelLen = 64, MaxWaiting = 1 });
        using var cts = new CancellationTokenSource();
        var a = Collect(engine, Request(Prompt(1, 3), 1000), cts.Token);
        var b = Collect(engine, Request(Prompt(2, 3), 1000), cts.Token);
        Assert.Throws<EngineOverloadedException>(() => engine.GenerateAsync(Request(Prompt(3, 3), 1)));
        Assert.Throws<PromptTooLongException>(() => engine.GenerateAsync(Request(Prompt(4, 64), 1)));
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Task.WhenAll(a, b));
    }

    [Fact]
    public async Task QueueBound_HammeredWhileTheLoopSteps_ExactlyMaxNumSeqsPlusMaxWaitingAccepted()
    {
        // Nothing ever ends (huge max_tokens and context), so exactly 1 + 4 requests may be in flight however the
        // submitters and the stepping loop interleave; a counter the loop overwrote used to let extra ones in. Nobody reads,
        // so the reader's lag is unbounded here too (the default would end the running one after 512 tokens).
        var runner = new FakeRunner(maxNumSeqs: 1, maxModelLen: 1 << 20);
        await using var engine = new InferenceEngine(runner, new EngineOptions { MaxNumSeqs = 1, MaxModelLen = 1 << 20, MaxWaiting = 4, MaxClientLag = int.MaxValue });
        using var cts = new CancellationTokenSource();
        var accepted = 0;
        void Hammer()
        {
            for (var i = 0; i < 20_000; i++)
            {
                try
                {
                    engine.GenerateAsync(Request(Prompt(i, 2), 1 << 20), cts.Token);
                    Interlocked.Increment(ref accepted);
                }
                catch (EngineOverloadedException)
                {
                }
            }
        }
        await Task.WhenAll(Task.Run(Hammer), Task.Run(Hammer));
        Assert.Equal(5, accepted);
        await SpinUntil(() => engine.GetStats() is { SlotsUsed: 1, Waiting: 4 });
        await cts.CancelAsync();
        await SpinUntil(() => engine.GetStats() is { SlotsUsed: 0, Waiting: 0 });
    }

    [Fact]
    public async Task ContextFull_EndsWithLength()
    {
        var runner = new FakeRunner(maxModelLen: 20);
        await using var engine = new InferenceEngine(runner, new EngineOptions { MaxNumSeqs = 4, MaxModelLen = 20 });
        var tokens = new List<GeneratedToken>();
        await foreach (var t in engine.GenerateAsync(Request(Prompt(1, 15), 100)))
        {
            tokens.Add(t);
        }
        Assert.Equal(5, tokens.Count); // prompt plus output may reach MaxModelLen: 20 - 15
        Assert.Equal(FinishReason.Length, tokens[^1].Finish);
    }

    [Fact]
    public async Task Stress_HundredsOfShortRequestsSomeCancelled_AllSlotsFreeMemoryBounded()
    {
        var runner = new FakeRunner();
        await using var engine = new InferenceEngine(runner, new EngineOptions { MaxNumSeqs = 4, MaxModelLen = 256, MaxWaiting = 1000, PrefillChunkSize = 8 });
        async Task Round(int seed)
        {
            var random = new Random(seed);
            await Task.WhenAll(Enumerable.Range(0, 150).Select(async i =>
            {
                using var cts = new CancellationTokenSource();
                if (random.Next(4) == 0)
                {
                    cts.CancelAfter(random.Next(0, 5));
                }
                try
                {
                    await Collect(engine, Request(Prompt(i, 1 + random.Next(20)), 1 + random.Next(12)), cts.Token);
                }
                catch (OperationCanceledException)
                {
                }
            }));
        }
        await Round(1);
        var baseline = GC.GetTotalMemory(forceFullCollection: true);
        for (var r = 2; r < 6; r++)
        {
            await Round(r);
        }
        await SpinUntil(() => engine.GetStats() is { Running: 0, Waiting: 0, SlotsUsed: 0 });
        var after = GC.GetTotalMemory(forceFullCollection: true);
        Assert.True(after - baseline < 2_000_000, $"managed memory grew by {after - baseline} bytes over 600 requests");
    }

    private static async Task SpinUntil(Func<bool> condition)
    {
        for (var i = 0; i < 500 && !condition(); i++)
        {
            await Task.Delay(10);
        }
        Assert.True(condition());
    }
}
