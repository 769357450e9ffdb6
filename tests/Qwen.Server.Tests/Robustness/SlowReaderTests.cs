using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Qwen.Server.Tests.Observability;

namespace Qwen.Server.Tests.Robustness;

/// <summary>
/// A client that stops reading its stream: a raw socket with a small receive buffer sends a streaming request with n > 1
/// and top_logprobs 20 and reads nothing. The server (its own process, so its log and metrics are this test's alone; the
/// tiny test model) must end its sequences once it is MaxClientLag tokens behind or cut it off within its shortened SSE
/// write timeout, log it 408 client_too_slow with the tokens the engine really generated, count it in /metrics while it
/// is held, give every slot back and serve the next request.
/// </summary>
[Collection(RobustnessCollection.Name)]
public sealed class SlowReaderTests
{
    [Fact]
    public async Task NeverReads_EngineFinishes_HeldInMetricsThenLoggedTooSlowWithEveryGeneratedToken()
    {
        // Lag above max_tokens: the engine runs every choice to max_tokens (ignore_eos), a known count, while the stream
        // stalls on the socket (4 x 1000 events of about 2 KB, far more than the socket buffers hold).
        const int n = 4, maxTokens = 1000;
        await using var server = await JsonLoggedServer.StartAsync("--max-num-seqs", "8", "--max-model-len", "2048", "--max-client-lag", "4096", "--sse-write-timeout", "10");
        using var client = await NeverReadingClient.SendAsync(server.BaseAddress, n, maxTokens);

        // The engine ends its sequences (slots free) while the request still holds them: /metrics counts it held.
        await WaitForAdmission(server, n);
        await WaitUntil(async () => await Ready(server) is { Running: 0, SlotsUsed: 0 } && (await server.MetricsAsync()).GetValueOrDefault("qwen_requests_in_generation") == 1);
        var held = await server.MetricsAsync();
        Assert.Equal(n, held["qwen_sequences_held"]);
        Assert.Equal(0, held["qwen_requests_running"]);

        var record = await server.WaitForLogAsync(e => e.TryGetProperty("ErrorCode", out var c) && c.GetString() == "client_too_slow");
        Assert.Equal(408, record.GetProperty("Status").GetInt32());
        Assert.Equal(string.Join(",", Enumerable.Repeat("client_too_slow", n)), record.GetProperty("Finish").GetString());
        Assert.Equal(n * maxTokens, record.GetProperty("CompletionTokens").GetInt32()); // generated, though the client took far fewer

        var after = await server.MetricsAsync();
        Assert.Equal((0, 0), (after["qwen_sequences_held"], after["qwen_requests_in_generation"]));
        Assert.Equal(n, after["qwen_requests_finished_total{finish_reason=\"client_too_slow\"}"]);
        Assert.Equal(n * maxTokens, after["qwen_generation_tokens_total"]);
        await AssertServesAsync(server);
    }

    [Fact]
    public async Task StopsReading_ClientLagExceeded_SlotsFreedLongBeforeMaxTokens_ThenTheBufferedTokensAndAnErrorEvent()
    {
        // max_tokens far beyond what could run in the test: only the engine's lag limit can give the slots back early.
        const int n = 2, maxTokens = 30_000;
        await using var server = await JsonLoggedServer.StartAsync("--max-num-seqs", "4", "--max-model-len", "32000", "--max-client-lag", "32", "--sse-write-timeout", "30");
        using var client = await NeverReadingClient.SendAsync(server.BaseAddress, n, maxTokens);

        await WaitForAdmission(server, n);
        await WaitUntil(async () => (await server.MetricsAsync()).GetValueOrDefault("qwen_requests_in_generation") == 1 && await Ready(server) is { SlotsUsed: 0, Waiting: 0 });
        Assert.Equal(n, (await server.MetricsAsync())["qwen_sequences_held"]);

        // The client reads again (within the write timeout): what was buffered for it, then the reason, then [DONE].
        var stream = await client.ReadUntilAsync("data: [DONE]");
        Assert.Contains("\"code\":\"client_too_slow\"", stream, StringComparison.Ordinal);
        Assert.Contains("more than 32 tokens behind", stream, StringComparison.Ordinal);
        var record = await server.WaitForLogAsync(e => e.TryGetProperty("ErrorCode", out var c) && c.GetString() == "client_too_slow");
        Assert.Equal(408, record.GetProperty("Status").GetInt32());
        Assert.InRange(record.GetProperty("CompletionTokens").GetInt32(), n * 33, (n * maxTokens) - 1);
        Assert.Equal(0, (await server.MetricsAsync())["qwen_sequences_held"]);
        await AssertServesAsync(server);
    }

    private static async Task AssertServesAsync(JsonLoggedServer server)
    {
        using var ok = await server.Http.PostAsJsonAsync("/v1/chat/completions", new { messages = new[] { new { role = "user", content = "after" } }, max_tokens = 5 });
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        Assert.Equal(0, (await Ready(server)).SlotsUsed);
    }

    private static async Task<(int Running, int Waiting, int SlotsUsed)> Ready(JsonLoggedServer server)
    {
        var ready = await server.Http.GetFromJsonAsync<JsonElement>("/health/ready");
        return (ready.GetProperty("running").GetInt32(), ready.GetProperty("waiting").GetInt32(), ready.GetProperty("kv_slots_used").GetInt32());
    }

    /// <summary>
    /// Until the engine has admitted <paramref name="n"/> sequences (prefix-cache lookups, a counter, so it cannot be
    /// missed). Before that no slot is used either, and a wait for free slots once passed before the engine had started
    /// (failed in CI).
    /// </summary>
    private static Task WaitForAdmission(JsonLoggedServer server, int n) =>
        WaitUntil(async () => await server.MetricsAsync() is var m
            && m.GetValueOrDefault("qwen_prefix_cache_lookups_total{result=\"hit\"}") + m.GetValueOrDefault("qwen_prefix_cache_lookups_total{result=\"miss\"}") >= n);

    private static async Task WaitUntil(Func<Task<bool>> condition)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        while (!await condition())
        {
            await Task.Delay(20, timeout.Token);
        }
    }
}
