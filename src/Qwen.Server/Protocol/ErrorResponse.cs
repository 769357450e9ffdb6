namespace Qwen.Server.Protocol;

/// <summary>The OpenAI error envelope: <c>{"error": {...}}</c>.</summary>
public sealed record ErrorResponse(ErrorBody Error);

/// <summary>The OpenAI error object.</summary>
public sealed record ErrorBody(string Message, string Type, string? Param, string? Code);
