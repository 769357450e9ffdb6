namespace Qwen.Server.Protocol;

/// <summary>A response's token counts; no prompt cache and no reasoning tokens here, so both details are 0.</summary>
/// <param name="InputTokens">Prompt tokens (the rendered conversation).</param>
/// <param name="InputTokensDetails">Cached prompt tokens: 0.</param>
/// <param name="OutputTokens">Generated tokens.</param>
/// <param name="OutputTokensDetails">Reasoning tokens: 0.</param>
/// <param name="TotalTokens">Their sum.</param>
public sealed record ResponseUsage(int InputTokens, ResponseInputTokensDetails InputTokensDetails, int OutputTokens, ResponseOutputTokensDetails OutputTokensDetails, int TotalTokens);
