namespace Qwen.Bench.Pool;

/// <summary>One request of a level's fixed sequence: when it is sent (seconds from the run's start), its prompt and its max_tokens.</summary>
internal sealed record PlannedRequest(double At, string Prompt, int MaxTokens);
