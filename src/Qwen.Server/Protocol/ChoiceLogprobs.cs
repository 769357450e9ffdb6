namespace Qwen.Server.Protocol;

/// <summary>Chat logprobs of a choice: one entry per generated token.</summary>
public sealed record ChoiceLogprobs(IReadOnlyList<ChatCompletionTokenLogprob> Content);

/// <summary>A token's text, log-probability and UTF-8 bytes, with the most likely alternatives.</summary>
public sealed record ChatCompletionTokenLogprob(string Token, float Logprob, IReadOnlyList<int> Bytes, IReadOnlyList<TopLogprob> TopLogprobs);

/// <summary>An alternative token at one position.</summary>
public sealed record TopLogprob(string Token, float Logprob, IReadOnlyList<int> Bytes);
