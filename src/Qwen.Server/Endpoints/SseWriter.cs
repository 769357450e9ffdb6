using System.Text.Json;
using Qwen.Server.Protocol;

namespace Qwen.Server.Endpoints;

/// <summary>Writes server-sent events: <c>data: &lt;json&gt;\n\n</c>, flushed one by one, and the final <c>data: [DONE]</c>.</summary>
internal sealed class SseWriter(HttpResponse response)
{
    private static readonly byte[] Prefix = "data: "u8.ToArray();

    public bool Started { get; private set; }

    public async Task WriteAsync<T>(T payload, CancellationToken ct)
    {
        await StartAsync(ct).ConfigureAwait(false);
        // One write per event: a cancellation between pieces would leave a torn "data: " line that the next event
        // (the shutdown error) would be appended to (found by tests/Qwen.Server.Tests/Robustness/GracefulShutdownTests).
        var json = JsonSerializer.SerializeToUtf8Bytes(payload, WireJson.Options);
        var frame = new byte[Prefix.Length + json.Length + 2];
        Prefix.CopyTo(frame, 0);
        json.CopyTo(frame, Prefix.Length);
        frame[^2] = (byte)'\n';
        frame[^1] = (byte)'\n';
        await response.Body.WriteAsync(frame, ct).ConfigureAwait(false);
        await response.Body.FlushAsync(ct).ConfigureAwait(false);
    }

    public async Task DoneAsync(CancellationToken ct)
    {
        await StartAsync(ct).ConfigureAwait(false);
        await response.WriteAsync("data: [DONE]\n\n", ct).ConfigureAwait(false);
        await response.Body.FlushAsync(ct).ConfigureAwait(false);
    }

    private async Task StartAsync(CancellationToken ct)
    {
        if (Started)
        {
            return;
        }
        Started = true;
        response.StatusCode = 200;
        response.ContentType = "text/event-stream; charset=utf-8";
        response.Headers.CacheControl = "no-cache";
        response.Headers["X-Accel-Buffering"] = "no"; // proxies must not buffer tokens
        response.HttpContext.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpResponseBodyFeature>()?.DisableBuffering();
        await response.StartAsync(ct).ConfigureAwait(false);
    }
}
