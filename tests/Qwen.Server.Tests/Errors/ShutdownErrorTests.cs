using System.Net;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Qwen.Server.Tests.Robustness;

namespace Qwen.Server.Tests.Errors;

/// <summary>
/// The host stops while a generation is in flight: the request ends with 503 shutting_down (JSON, with Retry-After, or
/// one SSE error event then [DONE]), never a 500. The order is explicit: the scripted model holds the engine at a gate,
/// the host is told to stop, and only once ApplicationStopping has fired is the gate opened.
/// </summary>
public sealed class ShutdownErrorTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    [Theory]
    [InlineData("/v1/chat/completions", """{"messages":[{"role":"user","content":"key-shutdown"}]}""")]
    [InlineData("/v1/completions", """{"prompt":"key-shutdown"}""")]
    public async Task NotStreamed_HostStopsMidGeneration_503ShuttingDownWithRetryAfter(string path, string body)
    {
        var server = new BatchScriptedServerFixture();
        await server.InitializeAsync();
        var gate = server.ScriptPaused("key-shutdown", "a b c d e f g h", pauseBefore: 3);
        try
        {
            var pending = server.Http.SendAsync(server.Post(path, body));
            await gate.Reached.WaitAsync(Bound);
            var stop = await BeginStopAsync(server);
            gate.Open();

            using var response = await pending.WaitAsync(Bound);
            var text = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.ServiceUnavailable, text);
            Assert.Equal("1", response.Headers.GetValues("Retry-After").Single());
            var error = JsonDocument.Parse(text).RootElement.GetProperty("error");
            Assert.Equal("shutting_down", error.GetProperty("code").GetString());
            Assert.Equal("server_error", error.GetProperty("type").GetString());
            await stop.WaitAsync(Bound);
        }
        finally
        {
            gate.Open();
            await server.DisposeAsync();
        }
    }

    [Theory]
    [InlineData("/v1/completions", """{"prompt":"key-shutdown-stream","stream":true}""")]
    [InlineData("/v1/chat/completions", """{"messages":[{"role":"user","content":"key-shutdown-stream"}],"stream":true}""")]
    public async Task Streamed_HostStopsMidStream_OneShuttingDownErrorEventThenDone(string path, string body)
    {
        var server = new BatchScriptedServerFixture();
        await server.InitializeAsync();
        var gate = server.ScriptPaused("key-shutdown-stream", "a b c d e f g h", pauseBefore: 3);
        try
        {
            using var bound = new CancellationTokenSource(Bound);
            using var response = await server.Http.SendAsync(server.Post(path, body), HttpCompletionOption.ResponseHeadersRead, bound.Token);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(bound.Token));
            await gate.Reached.WaitAsync(bound.Token);
            var stop = await BeginStopAsync(server);
            gate.Open();

            var events = new List<string>();
            while (await reader.ReadLineAsync(bound.Token) is { } line)
            {
                if (line.StartsWith("data: ", StringComparison.Ordinal))
                {
                    events.Add(line["data: ".Length..]);
                }
            }
            Assert.Equal("[DONE]", events[^1]);
            var error = JsonDocument.Parse(events[^2]).RootElement.GetProperty("error");
            Assert.Equal("shutting_down", error.GetProperty("code").GetString());
            Assert.Single(events, e => e.StartsWith("{\"error\"", StringComparison.Ordinal));
            await stop.WaitAsync(Bound);
        }
        finally
        {
            gate.Open();
            await server.DisposeAsync();
        }
    }

    [Fact]
    public async Task Streamed_HostStopsWhileAWriteIsBlocked_TheWriteIsNotCut_TheStreamEndsWithTheShuttingDownEventThenDone()
    {
        // A client that reads nothing: once the socket buffers are full (2 KB events, top_logprobs 20; a few thousand of
        // them fill the loopback's buffers) the server's write of the next event waits. Stopping the host then must not
        // cancel that write: Kestrel resets the connection when a write is cancelled, and the client would never learn why
        // its stream ended (failed once in CI, where a loaded machine left a write pending at the stop).
        var server = new UnreadServer();
        await server.InitializeAsync();
        try
        {
            using var client = await NeverReadingClient.SendAsync(server.BaseAddress, 1, 30_000);
            // The engine runs ahead (lag allowance 1M tokens) while the writer fills the socket and then waits on it. Wait for
            // 5,000 tokens, about 10 MB of events, more than the socket buffers hold (a fixed 5 s wait failed in CI: on a
            // loaded machine the tiny model had produced fewer than 1,000 tokens by then).
            using (var produced = new CancellationTokenSource(TimeSpan.FromSeconds(120)))
            {
                while (server.Model.Engine.GetStats().KvTokensUsed < 5_000)
                {
                    await Task.Delay(20, produced.Token);
                }
            }
            var stop = await BeginStopAsync(server);

            var stream = await client.ReadUntilAsync("data: [DONE]");
            var events = stream.Split("\n").Where(l => l.StartsWith("data: ", StringComparison.Ordinal)).Select(l => l["data: ".Length..]).ToList();
            Assert.Equal("[DONE]", events[^1]);
            Assert.Equal("shutting_down", JsonDocument.Parse(events[^2]).RootElement.GetProperty("error").GetProperty("code").GetString());
            Assert.True(events.Count > 1000, $"only {events.Count} events: the write was not waiting when the host stopped");
            await stop.WaitAsync(Bound);
        }
        finally
        {
            await server.DisposeAsync();
        }
    }

    /// <summary>The tiny test model with room for a long stream that the engine may run far ahead of its reader.</summary>
    private sealed class UnreadServer() : ServerFixture(["--max-model-len", "32000", "--max-client-lag", "1000000", "--sse-write-timeout", "120"]);

    /// <summary>Starts stopping the host and returns once ApplicationStopping has fired (the stop itself still runs).</summary>
    private static async Task<Task> BeginStopAsync(ServerFixture server)
    {
        var stopping = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        server.App.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping.Register(() => stopping.TrySetResult());
        var stop = server.App.StopAsync();
        await stopping.Task.WaitAsync(Bound);
        return stop;
    }
}
