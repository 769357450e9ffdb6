namespace Qwen.Server.Protocol;

/// <summary>A tool the model may call: always a function.</summary>
public sealed record ChatCompletionTool(string Type, FunctionDefinition Function);
