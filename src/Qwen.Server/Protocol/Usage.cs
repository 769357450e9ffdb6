namespace Qwen.Server.Protocol;

/// <summary>Token counts of a request.</summary>
public sealed record Usage(int PromptTokens, int CompletionTokens, int TotalTokens);
