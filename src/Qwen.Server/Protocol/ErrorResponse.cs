namespace Qwen.Server.Protocol;

/// <summary>The OpenAI error envelope: <c>{"error": {...}}</c>.</summary>
public sealed record ErrorResponse(ErrorBody Error);
