using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Qwen.Server.Endpoints;

namespace Qwen.Server.Tests.Endpoints;

/// <summary>
/// While a streamed request is held in prefill (the scripted engine loop blocked at a gate), the server writes
/// <c>: keep-alive</c> comments, only between whole events; after the gate opens the stream goes on as usual. The raw
/// bytes are read as they arrive. This class's own server has the interval shortened to 150 ms.
/// </summary>
public sealed class SseKeepAliveTests : IClassFixture<ScriptedServerFixture>
{
    private readonly ScriptedServerFixture _server;

    public SseKeepAliveTests(ScriptedServerFixture server)
    {
        _server = server;
        server.App.Services.GetRequiredService<SseKeepAlive>().Interval = TimeSpan.FromMilliseconds(150);
    }

    [Theory]
    [InlineData("/v1/chat/completions", """{"messages":[{"role":"user","content":"ka-chat"}],"stream":true}""", "ka-chat")]
    [InlineData("/v1/completions", """{"prompt":"ka-text","stream":true}""", "ka-text")]
    [InlineData("/v1/responses", """{"input":"ka-responses","stream":true}""", "ka-responses")]
    public async Task HeldInPrefill_KeepAliveCommentsBetweenEvents_ThenTheWholeStream(string path, string body, string key)
    {
        var gate = _server.ScriptPaused(key, "alpha beta gamma", pauseBefore: 0);
        using var request = _server.Post(path, body);
        using var response = await _server.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        await using var stream = await response.Content.ReadAsStreamAsync();
        await gate.Reached.WaitAsync(TimeSpan.FromSeconds(30));

        // Held: nothing but the opening events and comments can come; wait for two comments.
        var received = new StringBuilder();
        var buffer = new byte[4096];
        using (var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20)))
        {
            while (Count(received.ToString(), ": keep-alive\n\n") < 2)
            {
                var n = await stream.ReadAsync(buffer, timeout.Token);
                Assert.True(n > 0, "the stream ended while held: " + received);
                received.Append(Encoding.UTF8.GetString(buffer, 0, n));
            }
        }
        Assert.True(gate.IsHolding);
        Assert.DoesNotContain("alpha", received.ToString(), StringComparison.Ordinal);
        gate.Open();
        using var reader = new StreamReader(stream, Encoding.UTF8);
        received.Append(await reader.ReadToEndAsync());

        // Every block is a whole event or a whole comment (SseEvents.Parse fails on a torn one), and the text came through.
        var events = SseEvents.Parse(received.ToString());
        var comments = events.Blocks.Where(b => b.Comment is not null).ToList();
        Assert.True(comments.Count >= 2);
        Assert.All(comments, c => Assert.Equal(": keep-alive", c.Comment));
        var firstText = events.Blocks.ToList().FindIndex(b => b.Data?.Contains("alpha", StringComparison.Ordinal) == true);
        Assert.True(firstText > events.Blocks.ToList().IndexOf(comments[1]), "the comments came while the request was held, before any text");
        Assert.Contains("gamma", string.Concat(events.Blocks.Select(b => b.Data)), StringComparison.Ordinal);
    }

    private static int Count(string text, string part)
    {
        var count = 0;
        for (var i = text.IndexOf(part, StringComparison.Ordinal); i >= 0; i = text.IndexOf(part, i + part.Length, StringComparison.Ordinal))
        {
            count++;
        }
        return count;
    }
}
