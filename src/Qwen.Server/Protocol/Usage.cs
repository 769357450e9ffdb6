namespace Qwen.Server.Protocol;

/// <summary>Token counts of a request; <paramref name="PromptTokensDetails"/> says how many prompt tokens the prefix cache gave.</summary>
public sealed record Usage(int PromptTokens, int CompletionTokens, int TotalTokens, PromptTokensDetails PromptTokensDetails);
