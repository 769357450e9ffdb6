namespace Qwen.Server.Protocol;

/// <summary>Details of a response's input tokens.</summary>
/// <param name="CachedTokens">Prompt tokens served from a cache (always 0 here).</param>
public sealed record ResponseInputTokensDetails(int CachedTokens);
