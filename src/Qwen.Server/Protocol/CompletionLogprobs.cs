namespace Qwen.Server.Protocol;

/// <summary>Legacy logprobs: parallel lists, one entry per token; prompt tokens echoed back have null logprobs.</summary>
public sealed record CompletionLogprobs(IReadOnlyList<string> Tokens, IReadOnlyList<float?> TokenLogprobs, IReadOnlyList<Dictionary<string, float>?> TopLogprobs, IReadOnlyList<int> TextOffset);
