using Qwen.Inference.Sampling;

namespace Qwen.Server.Validation;

/// <summary>The fields chat and text completions share, read by <see cref="RequestValidator.Common"/>.</summary>
/// <param name="Sampling">Sampling for choice 0, complete (logit bias, banned tokens, logprobs).</param>
/// <param name="MaxTokens">max_tokens (or max_completion_tokens) as given; null: all the room the prompt leaves.</param>
/// <param name="Stops">Stop strings.</param>
/// <param name="N">Number of choices.</param>
/// <param name="Stream">Server-sent events.</param>
/// <param name="IncludeUsage">Send a usage chunk at the end of a stream.</param>
/// <param name="IgnoreEos">Extension (as vLLM's): keep generating past the model's stop tokens, for benchmarks.</param>
internal sealed record SharedFields(SamplingParams Sampling, int? MaxTokens, IReadOnlyList<string> Stops, int N, bool Stream, bool IncludeUsage, bool IgnoreEos);
