namespace Qwen.Server.Protocol;

/// <summary>Chat logprobs of a choice (or of the tokens in one chunk): one entry per generated token.</summary>
public sealed record ChoiceLogprobs(IReadOnlyList<ChatCompletionTokenLogprob> Content);
