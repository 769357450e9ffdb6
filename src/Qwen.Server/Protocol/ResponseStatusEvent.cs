namespace Qwen.Server.Protocol;

/// <summary>
/// <c>response.created</c>, <c>response.in_progress</c>, <c>response.completed</c>, <c>response.incomplete</c> and
/// <c>response.failed</c>: the response as it stands (the last three carry the whole output and usage).
/// </summary>
public sealed record ResponseStatusEvent : ResponseStreamEvent
{
    /// <summary>The response object.</summary>
    public required Response Response { get; init; }
}
