using System.Diagnostics;
using System.Globalization;
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
        // Fill every slot and the queue with long fixed-length streams held at their first decode step, and wait until the
        // server says so: nothing admitted can finish (and free room) before the excess has been answered.
        var hold = server.Runner.HoldDecodes();
        List<Task<SseStream>> admitted;
        SseStream[] excess;
        try
        {
            admitted = Enumerable.Range(0, Capacity).Select(i => SseStream.RunAsync(server.Http, SseStream.ChatBody($"occupy {i}", AdmittedTokens, includeUsage: true), cts.Token)).ToList();
            JsonElement ready;
            do
            {
                await Task.Delay(10, cts.Token);
                Assert.False(admitted.Any(a => a.IsCompleted), "an admitted request ended while the engine was held: it was refused or failed");
                ready = JsonDocument.Parse(await server.Http.GetStringAsync("/health/ready", cts.Token)).RootElement;
            }
            // Slots held (a prompt may still be prefilling: decoding is held, and the engine may hold it before the second prefill) plus waiting.
            while (ready.GetProperty("kv_slots_used").GetInt32() + ready.GetProperty("waiting").GetInt32() < Capacity);

            // The excess, all at once: streamed and not (both are refused before the response starts), with the engine still held.
            var refusals = Task.WhenAll(Enumerable.Range(0, Excess).Select(i => SseStream.RunAsync(server.Http, SseStream.ChatBody($"too many {i}", 4, stream: i % 2 == 0), cts.Token)));
            Assert.True(await Task.WhenAny(refusals, Task.Delay(TimeSpan.FromSeconds(30), cts.Token)) == refusals, "the excess was not answered while every slot was busy: refusals waited for a slot");
            excess = await refusals;
        }
        finally
        {
            hold.Open();
        }
        var lastRefusal = excess.Max(e => e.EndedAt);
        var done = await Task.WhenAll(admitted);
        var firstAdmittedEnd = done.Min(d => d.EndedAt);

        var latencies = excess.Select(e => Stopwatch.GetElapsedTime(e.StartedAt, e.EndedAt).TotalMilliseconds).Order().ToList();
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"overload: capacity {Capacity} ({OverloadServerFixture.OverloadSlots} slots + {OverloadServerFixture.OverloadWaiting} waiting) full, {Excess} more sent at once; " +
            $"refused: {string.Join(", ", excess.GroupBy(e => e.Status).Select(g => $"{g.Key} x{g.Count()}"))}, Retry-After [{string.Join(",", excess.Select(e => e.RetryAfter).Distinct())}], " +
            $"refusal latency from send p50 {latencies[latencies.Count / 2]:F1} ms, max {latencies[^1]:F1} ms; last refusal {Stopwatch.GetElapsedTime(lastRefusal, firstAdmittedEnd).TotalMilliseconds:F0} ms before the first admitted stream ended; " +
            $"admitted {done.Length}: {string.Join(", ", done.Select(d => $"{d.Status}/{d.FinishReason}/{d.CompletionTokens} tokens"))}"));
        foreach (var e in excess)
        {
            Assert.Contains(e.Status, new[] { 429, 503 });
            Assert.False(string.IsNullOrEmpty(e.RetryAfter), "a refusal must carry Retry-After");
            using var body = JsonDocument.Parse(e.ErrorBody);
            var error = body.RootElement.GetProperty("error");
            Assert.Equal(JsonValueKind.String, error.GetProperty("message").ValueKind);
            Assert.Equal(JsonValueKind.String, error.GetProperty("type").ValueKind);
            Assert.True(error.TryGetProperty("param", out _) && error.TryGetProperty("code", out _), "the refusal must be the OpenAI error object");
        }
        // Every refusal came back while all admitted streams were still running (ordering, not wall-clock): nobody waited for a slot to be refused.
        Assert.True(lastRefusal < firstAdmittedEnd, "an admitted stream finished before the last refusal came back: refusals were not immediate");
        foreach (var d in done)
        {
            Assert.Equal(200, d.Status);
            Assert.True(d.Done, "an admitted stream must end with [DONE]");
            Assert.False(d.HasErrorEvent, string.Join(" | ", d.Events.Where(e => e.StartsWith("{\"error\"", StringComparison.Ordinal))));
            Assert.Equal("length", d.FinishReason);
            Assert.Equal(AdmittedTokens, d.CompletionTokens);
        }
        var idle = await MetricsSnapshot.WaitIdleAsync(server.Http, server.Model.Engine, TimeSpan.FromSeconds(10));
        Assert.True(idle.Idle, $"after the overload /metrics shows {idle}");
        Assert.True(MetricsSnapshot.EngineIdle(server.Model.Engine.GetStats()), $"after the overload the engine shows {server.Model.Engine.GetStats()}");
        await ProcessGauges.AssertServesNormalRequestAsync(server.Http);
    }
}
