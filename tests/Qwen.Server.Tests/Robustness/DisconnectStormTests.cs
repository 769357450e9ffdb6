using System.Text;
using Xunit.Abstractions;

namespace Qwen.Server.Tests.Robustness;

/// <summary>Streams abandoned at random points must give back every KV slot, and the process its memory.</summary>
[Collection(RobustnessCollection.Name)]
public sealed class DisconnectStormTests(LimitedServerFixture server, ITestOutputHelper output) : IClassFixture<LimitedServerFixture>
{
    private const int Streams = 160;
    private const int Concurrency = 8;

    /// <summary>Managed heap growth allowed after the storm (the heap of the whole test process; the tiny model's KV cache is 1 MiB).</summary>
    private const long MemoryBoundBytes = 32L << 20;

    [Fact]
    public async Task StreamingRequests_AbortedAtRandomPoints_FreeEverySlotAndMemory()
    {
        await ProcessGauges.AssertServesNormalRequestAsync(server.Http); // warm up before the baseline
        var before = ProcessGauges.Read();
        var random = new Random(4242);
        var longPrompt = string.Join(' ', Enumerable.Range(0, 350).Select(i => $"w{i}"));
        var plans = Enumerable.Range(0, Streams).Select(_ => (Kind: random.Next(3), Delay: random.Next(0, 40), Events: 2 + random.Next(30))).ToList();
        var outcomes = new int[3];
        using var gate = new SemaphoreSlim(Concurrency);
        await Task.WhenAll(plans.Select(async plan =>
        {
            await gate.WaitAsync();
            try
            {
                using var cts = new CancellationTokenSource();
                switch (plan.Kind)
                {
                    case 0: // before the first token: the request is cancelled while it is sent or queued
                        cts.CancelAfter(plan.Delay / 10);
                        await Swallow(SseStream.RunAsync(server.Http, SseStream.ChatBody("short", 200), cts.Token));
                        break;
                    case 1: // mid-stream: read a few events, then walk away
                        await Swallow(SseStream.RunAsync(server.Http, SseStream.ChatBody("tell me more", 300), cts.Token, n => n < plan.Events));
                        break;
                    default: // during a long prefill (chunked at 256 tokens by default)
                        cts.CancelAfter(plan.Delay);
                        await Swallow(SseStream.RunAsync(server.Http, SseStream.ChatBody(longPrompt, 100), cts.Token));
                        break;
                }
                Interlocked.Increment(ref outcomes[plan.Kind]);
            }
            finally
            {
                gate.Release();
            }
        }));

        var idle = await ProcessGauges.WaitIdleAsync(server.Http, TimeSpan.FromSeconds(15));
        var stats = server.Model.Engine.GetStats();
        var after = ProcessGauges.Read();
        output.WriteLine($"{Streams} streams aborted (before first token {outcomes[0]}, mid-stream {outcomes[1]}, during prefill {outcomes[2]}); /health/ready after: {idle}");
        output.WriteLine($"before: {before}; after: {after}; managed growth {(after.ManagedBytes - before.ManagedBytes) / 1048576.0:F1} MiB (bound {MemoryBoundBytes >> 20} MiB)");
        Assert.Equal(0, idle.GetProperty("running").GetInt32());
        Assert.Equal(0, idle.GetProperty("waiting").GetInt32());
        Assert.Equal(0, idle.GetProperty("kv_slots_used").GetInt32());
        Assert.Equal(0, stats.KvTokensUsed);
        Assert.True(after.ManagedBytes - before.ManagedBytes < MemoryBoundBytes, $"managed heap grew from {before.ManagedBytes} to {after.ManagedBytes} bytes");
        await ProcessGauges.AssertServesNormalRequestAsync(server.Http);
    }

    private static async Task Swallow(Task task)
    {
        try
        {
            await task;
        }
        catch (Exception e) when (e is OperationCanceledException or HttpRequestException or IOException)
        {
            // The abort itself: what matters is what the server does afterwards.
        }
    }
}
