namespace Qwen.Tokenization.ToolCalls;

/// <summary>One streamed piece of the assistant message: either plain content or a tool-call delta.</summary>
public sealed record AssistantDelta(string? Content, ToolCallDelta? ToolCall);
