using Qwen.Inference.Sampling;

namespace Qwen.Server.Validation;

/// <summary>What a validated request asks of generation, shared by chat and text completions.</summary>
/// <param name="Sampling">Sampling for choice 0 (choice i uses seed + i when a seed is given).</param>
/// <param name="MaxTokens">Tokens to generate at most (set by <see cref="RequestValidator.Fit"/>).</param>
/// <param name="Stops">Stop strings.</param>
/// <param name="N">Number of choices.</param>
/// <param name="Stream">Server-sent events.</param>
/// <param name="IncludeUsage">Send a usage chunk at the end of a stream.</param>
/// <param name="TopLogprobs">Report logprobs with this many alternatives (null: no logprobs).</param>
/// <param name="IgnoreEos">Extension (as vLLM's): keep generating past the model's stop tokens, for benchmarks.</param>
/// <param name="Grammar">Makes a fresh grammar constraint for each choice (forced tool calls, json_object); null: unconstrained.</param>
internal sealed record GenerationSettings(SamplingParams Sampling, int MaxTokens, IReadOnlyList<string> Stops, int N, bool Stream, bool IncludeUsage, int? TopLogprobs, bool IgnoreEos = false, Func<ITokenConstraint>? Grammar = null);
