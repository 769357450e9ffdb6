namespace Qwen.Server.Protocol;

/// <summary>One choice of a text completion (OpenAI's order: text, index, logprobs, finish_reason).</summary>
public sealed record TextCompletionChoice(string Text, int Index, CompletionLogprobs? Logprobs, string? FinishReason);
