using System.Net;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

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
