namespace Qwen.Server.Endpoints;

/// <summary>An SSE event could not be written and flushed within the write timeout; the connection was aborted.</summary>
internal sealed class SseWriteTimeoutException(TimeSpan timeout)
    : Exception($"the client took more than {timeout.TotalSeconds:0.###} s to take one event (SseWriteTimeout); the connection was aborted");
