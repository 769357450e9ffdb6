using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Xunit.Abstractions;

namespace Qwen.Server.Tests.Robustness;

/// <summary>
/// A client that sends headers and part of a body, then stalls: Kestrel gives up reading once the body falls below its
/// minimum data rate, and the answer is 408 with the OpenAI error body in plain words (issue 14: it was a 400 naming
/// Kestrel's setting). A real socket, since HttpClient cannot stall mid-body.
/// </summary>
[Collection(RobustnessCollection.Name)]
public sealed class SlowBodyTests(ServerFixture server, ITestOutputHelper output) : IClassFixture<ServerFixture>
{
    [Fact]
    public async Task Chat_BodyStallsAfterHeaders_408WithTheOpenAiErrorBody()
    {
        // Kestrel reads the limit when each request starts; a 2 s grace (its default is 5 s) keeps the test short.
        var limits = server.App.Services.GetRequiredService<IOptions<KestrelServerOptions>>().Value.Limits;
        limits.MinRequestBodyDataRate = new MinDataRate(bytesPerSecond: 240, gracePeriod: TimeSpan.FromSeconds(2));

        using var client = new TcpClient();
        await client.ConnectAsync(server.BaseAddress.Host, server.BaseAddress.Port);
        var stream = client.GetStream();
        var partial = """{"messages":[{"role":"user","content":"hel""";
        var head = $"POST /v1/chat/completions HTTP/1.1\r\nHost: {server.BaseAddress.Authority}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n";
        await stream.WriteAsync(Encoding.ASCII.GetBytes(head + partial));
        var clock = Stopwatch.StartNew();

        // Then nothing: read until the server answers and closes (bounded, so a hang fails instead of blocking the run).
        using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var received = new MemoryStream();
        var buffer = new byte[4096];
        int read;
        while ((read = await stream.ReadAsync(buffer, bound.Token)) > 0)
        {
            received.Write(buffer, 0, read);
        }
        var response = Encoding.UTF8.GetString(received.ToArray());
        output.WriteLine($"answered after {clock.Elapsed.TotalSeconds:F1} s:\n{response}");

        Assert.StartsWith("HTTP/1.1 408 ", response, StringComparison.Ordinal);
        // The body is chunked: the JSON object is the one chunk, between its size line and the last chunk.
        var body = response[response.IndexOf('{', StringComparison.Ordinal)..(response.LastIndexOf('}') + 1)];
        var error = JsonDocument.Parse(body).RootElement.GetProperty("error");
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        Assert.Equal("request_timeout", error.GetProperty("code").GetString());
        Assert.Equal(JsonValueKind.Null, error.GetProperty("param").ValueKind);
        Assert.DoesNotContain("MinRequestBodyDataRate", error.GetProperty("message").GetString(), StringComparison.Ordinal);
    }
}
