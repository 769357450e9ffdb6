namespace Qwen.Tokenization.ToolCalls;

/// <summary>
/// The streaming form of <see cref="ToolCallParser"/>: consumes text deltas, yields content and tool-call deltas whose
/// accumulation equals the non-streaming result. One per sequence; not thread-safe.
/// </summary>
public sealed class StreamingToolCallParser(Func<string>? newId = null)
{
    private readonly Func<string>? _newId = newId;

    /// <summary>Consumes a text delta and returns the deltas it completes (possibly none).</summary>
    public IReadOnlyList<AssistantDelta> Push(string text) => throw new InvalidOperationException("pending " + text + _newId);

    /// <summary>Ends the stream: returns what is still held back (an unclosed block becomes content, as the non-streaming parser does).</summary>
    public IReadOnlyList<AssistantDelta> Finish() => throw new InvalidOperationException("pending");

    /// <summary>Whether any tool call has been emitted (the finish reason becomes <c>tool_calls</c>).</summary>
    public bool HasToolCalls => throw new InvalidOperationException("pending");
}
