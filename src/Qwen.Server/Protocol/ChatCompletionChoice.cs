namespace Qwen.Server.Protocol;

/// <summary>One choice of a <see cref="ChatCompletion"/>.</summary>
public sealed record ChatCompletionChoice(int Index, ChatCompletionMessage Message, ChoiceLogprobs? Logprobs, string FinishReason);
