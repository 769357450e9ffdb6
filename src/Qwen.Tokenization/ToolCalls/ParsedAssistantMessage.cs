namespace Qwen.Tokenization.ToolCalls;

/// <summary>Generated text split into plain content (null when empty) and tool calls.</summary>
public sealed record ParsedAssistantMessage(string? Content, IReadOnlyList<ToolCall> ToolCalls);
