namespace Qwen.Server.Protocol;

/// <summary>The OpenAI error object.</summary>
public sealed record ErrorBody(string Message, string Type, string? Param, string? Code);
