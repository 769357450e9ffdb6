namespace Qwen.Server.Protocol;

/// <summary>Streaming options: <c>include_usage</c> adds a last chunk with usage and empty choices.</summary>
public sealed record ChatCompletionStreamOptions(bool? IncludeUsage);
