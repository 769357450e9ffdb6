using System.Text.Json;
using Qwen.Server.Protocol;

namespace Qwen.Server.Streaming;

/// <summary>Writes server-sent events: <c>data: &lt;json&gt;\n\n</c>, flushed one by one, and the final <c>data: [DONE]</c>.</summary>
internal sealed class SseWriter(HttpResponse response)
{
    public bool Started { get; private set; }

    public async Task WriteAsync<T>(T payload, CancellationToken ct)
    {
        await StartAsync(ct).ConfigureAwait(false);
        await response.WriteAsync("data: ", ct).ConfigureAwait(false);
        await JsonSerializer.SerializeAsync(response.Body, payload, WireJson.Options, ct).ConfigureAwait(false);
        await response.WriteAsync("\n\n", ct).ConfigureAwait(false);
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
