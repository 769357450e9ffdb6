namespace Qwen.Server.Protocol;

/// <summary>One choice's delta in a chunk, with the logprobs of the tokens whose text the delta carries.</summary>
public sealed record ChatCompletionChunkChoice(int Index, ChatCompletionDelta Delta, ChoiceLogprobs? Logprobs, string? FinishReason);
