using System.Diagnostics;
using System.Text.Json;
using Xunit.Abstractions;

namespace Qwen.Server.Tests.Robustness;

/// <summary>More requests than slots plus queue: the excess is refused at once with Retry-After; the admitted all finish.</summary>
[Collection(RobustnessCollection.Name)]
public sealed class OverloadTests(OverloadServerFixture server, ITestOutputHelper output) : IClassFixture<OverloadServerFixture>
{
    private const int Capacity = OverloadServerFixture.OverloadSlots + OverloadServerFixture.OverloadWaiting;
    private const int Excess = 12;
    private const int AdmittedTokens = 400;

    [Fact]
    public async Task ConcurrentRequests_BeyondSlotsAndQueue_ExcessRefusedWithRetryAfterBeforeAdmittedFinish()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        // Fill every slot and the queue with long fixed-length streams, and wait until the server says so.
        var admitted = Enumerable.Range(0, Capacity).Select(i => SseStream.RunAsync(server.Http, SseStream.ChatBody($"occupy {i}", AdmittedTokens), cts.Token)).ToList();
        JsonElement ready;
        do
        {
            await Task.Delay(10, cts.Token);
            ready = JsonDocument.Parse(await server.Http.GetStringAsync("/health/ready", cts.Token)).RootElement;
        }
        while (ready.GetProperty("running").GetInt32() + ready.GetProperty("waiting").GetInt32() < Capacity);

        var excess = await Task.WhenAll(Enumerable.Range(0, Excess).Select(i => SseStream.RunAsync(server.Http, SseStream.ChatBody($"too many {i}", 4), cts.Token)));
        var lastRefusal = excess.Max(e => e.EndedAt);
        var done = await Task.WhenAll(admitted);

        output.WriteLine($"capacity {Capacity} ({OverloadServerFixture.OverloadSlots} slots + {OverloadServerFixture.OverloadWaiting} waiting); excess answers: {string.Join(", ", excess.GroupBy(e => e.Status).Select(g => $"{g.Key} x{g.Count()}"))}; " +
            $"refusals back in at most {excess.Max(e => Stopwatch.GetElapsedTime(e.HeadersAt - 1, e.EndedAt).TotalMilliseconds):F1} ms after their headers; " +
            $"admitted: {string.Join(", ", done.Select(d => $"{d.Status}/{d.FinishReason}"))}");
        foreach (var e in excess)
        {
            Assert.Contains(e.Status, new[] { 429, 503 });
            Assert.False(string.IsNullOrEmpty(e.RetryAfter), "a refusal must carry Retry-After");
            using var body = JsonDocument.Parse(e.ErrorBody);
            Assert.Equal(JsonValueKind.String, body.RootElement.GetProperty("error").GetProperty("message").ValueKind);
        }
        foreach (var d in done)
        {
            Assert.Equal(200, d.Status);
            Assert.True(d.Done, "an admitted stream must end with [DONE]");
            Assert.False(d.HasErrorEvent);
            Assert.Equal("length", d.FinishReason);
            // Every refusal came back while the admitted streams were still running (ordering, not wall-clock).
            Assert.True(d.EndedAt > lastRefusal, "an admitted stream finished before the refusals came back: refusals were not immediate");
        }
        await ProcessGauges.WaitIdleAsync(server.Http, TimeSpan.FromSeconds(10));
        await ProcessGauges.AssertServesNormalRequestAsync(server.Http);
    }
}
