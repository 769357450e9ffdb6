namespace Qwen.Server.Protocol;

/// <summary>Where the prompt's tokens came from, as OpenAI reports it: how many were reused from the prefix cache.</summary>
public sealed record PromptTokensDetails(int CachedTokens);
