namespace Qwen.Server.Protocol;

/// <summary>Details of a response's output tokens.</summary>
/// <param name="ReasoningTokens">Tokens of hidden reasoning (always 0 here).</param>
public sealed record ResponseOutputTokensDetails(int ReasoningTokens);
