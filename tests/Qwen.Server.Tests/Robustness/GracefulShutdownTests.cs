using Xunit.Abstractions;

namespace Qwen.Server.Tests.Robustness;

/// <summary>Stopping the host while streams run: each ends cleanly (finish chunk or an error event, then [DONE]), nothing hangs.</summary>
[Collection(RobustnessCollection.Name)]
public sealed class GracefulShutdownTests(ITestOutputHelper output)
{
    private const int Streams = 6;

    [Fact]
    public async Task StopHost_WithStreamsInFlight_EveryStreamEndsWithDone()
    {
        var server = new LimitedServerFixture();
        await server.InitializeAsync();
        var firstTokens = Enumerable.Range(0, Streams).Select(_ => new TaskCompletionSource()).ToArray();
        using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        // Six long fixed-length streams against 4 slots: four decode, two wait in the queue.
        var streams = Enumerable.Range(0, Streams).Select(i => SseStream.RunAsync(server.Http, SseStream.ChatBody($"long story {i}", 450), bound.Token, n =>
        {
            if (n >= 2)
            {
                firstTokens[i].TrySetResult();
            }
            return true;
        })).ToArray();
        await Task.WhenAny(Task.WhenAll(firstTokens.Take(LimitedServerFixture.Slots).Select(t => t.Task)), Task.Delay(TimeSpan.FromSeconds(30), bound.Token));

        var stop = server.App.StopAsync(bound.Token);
        var results = await Task.WhenAll(streams);
        await stop;
        await server.DisposeAsync();

        output.WriteLine(string.Join("; ", results.Select((r, i) => $"stream {i}: {r.Status}, {r.Events.Count} events, finish {r.FinishReason ?? "-"}, error event {r.HasErrorEvent}, [DONE] {r.Done}, last {string.Join(" | ", r.Events.TakeLast(2))}")));
        foreach (var r in results)
        {
            if (r.Status != 200)
            {
                // Refused because the server was already stopping: a 503 with the OpenAI body is a clean end too.
                Assert.Equal(503, r.Status);
                continue;
            }
            Assert.True(r.Done, $"a stream ended without [DONE]: {string.Join('|', r.Events.TakeLast(3))}");
            Assert.True(r.FinishReason is not null || r.HasErrorEvent, "a stream ended with neither a finish reason nor an error event");
        }
        Assert.False(bound.IsCancellationRequested, "shutdown did not finish within the bound");
    }
}
