namespace Qwen.Tokenization.ToolCalls;

/// <summary>
/// A streamed piece of tool call <see cref="Index"/>: its first delta carries <see cref="Id"/> and <see cref="Name"/>
/// (no arguments); every later one carries only a non-empty <see cref="Arguments"/> fragment, to be appended.
/// </summary>
public sealed record ToolCallDelta(int Index, string? Id, string? Name, string? Arguments);
