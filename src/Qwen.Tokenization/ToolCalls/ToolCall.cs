namespace Qwen.Tokenization.ToolCalls;

/// <summary>A parsed function call: <see cref="Arguments"/> is the arguments object as a JSON string.</summary>
public sealed record ToolCall(string Id, string Name, string Arguments);
