namespace Qwen.Tokenization.ToolCalls;

/// <summary>A streamed piece of a tool call: <see cref="Id"/> and <see cref="Name"/> come once, then argument fragments.</summary>
public sealed record ToolCallDelta(int Index, string? Id, string? Name, string? Arguments);
