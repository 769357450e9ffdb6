using System.Text;
using System.Text.Json;
using Qwen.Server.Protocol;

namespace Qwen.Server.Endpoints;

/// <summary>
/// Writes server-sent events, flushed one by one: <c>data: &lt;json&gt;\n\n</c>, preceded by <c>event: &lt;type&gt;\n</c> for
/// a Responses API event (<see cref="ResponseStreamEvent"/>, whose sequence_number it stamps from 0), the final <c>data: [DONE]</c> of chat and text completions,
/// and <c>: keep-alive</c> comments while the stream waits (<see cref="NextAsync{T}"/>). Its caller is the stream's only
/// writer, so a comment can only fall between two events, never inside one. Each write and flush has a deadline
/// (<paramref name="writeTimeout"/>): a client that takes nothing for that long would otherwise hold the request, its
/// buffers and (through backpressure) its slots for as long as Kestrel's minimum data rate allows, about 8 s per 2 KB
/// event. Past it the connection is aborted (which cancels the request's generation) and
/// <see cref="SseWriteTimeoutException"/> is thrown. The request's token stops writes from starting, never one under way:
/// Kestrel aborts the connection when a write is cancelled, so a write cut by the host stopping would reset the stream
/// instead of letting the shutting_down event follow (seen in CI); a client that is gone ends writes anyway.
/// </summary>
internal sealed class SseWriter(HttpResponse response, TimeSpan keepAlive, TimeSpan writeTimeout)
{
    private static readonly byte[] DataPrefix = "data: "u8.ToArray();
    private static readonly byte[] KeepAliveComment = ": keep-alive\n\n"u8.ToArray();
    private long _lastWrite = Environment.TickCount64;
    private Task? _tick;
    private int _sequence;

    public bool Started { get; private set; }

    public async Task WriteAsync<T>(T payload, CancellationToken ct)
    {
        await StartAsync(ct).ConfigureAwait(false);
        // One write per event: a cancellation between pieces would leave a torn "data: " line that the next event
        // (the shutdown error) would be appended to (found by tests/Qwen.Server.Tests/Robustness/GracefulShutdownTests).
        object data = payload is ResponseStreamEvent e ? e with { SequenceNumber = _sequence } : payload!;
        var name = payload is ResponseStreamEvent named ? Encoding.UTF8.GetBytes($"event: {named.Type}\n") : [];
        var json = JsonSerializer.SerializeToUtf8Bytes(data, WireJson.Options);
        var frame = new byte[name.Length + DataPrefix.Length + json.Length + 2];
        name.CopyTo(frame, 0);
        DataPrefix.CopyTo(frame, name.Length);
        json.CopyTo(frame, name.Length + DataPrefix.Length);
        frame[^2] = (byte)'\n';
        frame[^1] = (byte)'\n';
        await SendAsync(frame, ct).ConfigureAwait(false);
        if (payload is ResponseStreamEvent)
        {
            _sequence++; // only once written: an event a failure kept off the wire leaves no gap
        }
    }

    public async Task DoneAsync(CancellationToken ct)
    {
        await StartAsync(ct).ConfigureAwait(false);
        await SendAsync("data: [DONE]\n\n"u8.ToArray(), ct).ConfigureAwait(false);
    }

    /// <summary>
    /// Awaits <paramref name="next"/> (the stream's next event); while it is not ready and nothing has been written for the
    /// keep-alive interval, writes a <c>: keep-alive</c> comment (clients ignore comments; idle timeouts of proxies and
    /// clients do not fire). At most one timer per stream is pending: it is re-armed only when it fires.
    /// </summary>
    public async ValueTask<T> NextAsync<T>(ValueTask<T> next, CancellationToken ct)
    {
        if (next.IsCompleted)
        {
            return await next.ConfigureAwait(false);
        }
        var pending = next.AsTask();
        while (true)
        {
            _tick ??= Task.Delay(Quiet());
            if (await Task.WhenAny(pending, _tick).ConfigureAwait(false) == pending)
            {
                return await pending.ConfigureAwait(false);
            }
            _tick = null;
            if (Quiet() == TimeSpan.Zero)
            {
                await StartAsync(ct).ConfigureAwait(false);
                await SendAsync(KeepAliveComment, ct).ConfigureAwait(false);
            }
        }
    }

    /// <summary>How long until the stream has been silent for the keep-alive interval (zero: it has).</summary>
    private TimeSpan Quiet()
    {
        var left = keepAlive - TimeSpan.FromMilliseconds(Environment.TickCount64 - _lastWrite);
        return left > TimeSpan.Zero ? left : TimeSpan.Zero;
    }

    private async Task SendAsync(byte[] bytes, CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        using var timer = new CancellationTokenSource(writeTimeout);
        try
        {
            await response.Body.WriteAsync(bytes, timer.Token).ConfigureAwait(false);
            await response.Body.FlushAsync(timer.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (timer.IsCancellationRequested)
        {
            // Kestrel aborts the connection itself when a write is cancelled. The event may be half written, so the
            // stream cannot go on; aborting (again, to be sure) frees the socket's buffers and cancels the request's sequences.
            response.HttpContext.Abort();
            throw new SseWriteTimeoutException(writeTimeout);
        }
        _lastWrite = Environment.TickCount64;
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
        ct.ThrowIfCancellationRequested(); // as SendAsync: the token stops a start, never cuts one
        await response.StartAsync().ConfigureAwait(false);
    }
}
