namespace Qwen.Server.Protocol;

/// <summary>A token's text, log-probability and UTF-8 bytes, with the most likely alternatives.</summary>
public sealed record ChatCompletionTokenLogprob(string Token, float Logprob, IReadOnlyList<int> Bytes, IReadOnlyList<TopLogprob> TopLogprobs);
