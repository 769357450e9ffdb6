namespace Qwen.Server.Endpoints;

/// <summary>
/// How long an SSE stream may stay silent before <see cref="SseWriter"/> writes a <c>: keep-alive</c> comment: while a
/// request waits in the queue or a long prompt is prefilled, proxies and clients with idle timeouts would otherwise drop
/// the connection. One per app (a DI singleton, so a test shortens it on its own server only); deliberately not a setting.
/// </summary>
internal sealed class SseKeepAlive
{
    /// <summary>5 s: well below common idle timeouts (nginx proxy_read_timeout and AWS ALB default to 60 s) at one short line each.</summary>
    public static readonly TimeSpan DefaultInterval = TimeSpan.FromSeconds(5);

    /// <summary>The silence after which a comment is written.</summary>
    public TimeSpan Interval { get; set; } = DefaultInterval;
}
