using Qwen.Inference.Sampling;

namespace Qwen.Inference.Engine;

/// <summary>One sequence to generate: prompt token ids, sampling, and when to stop.</summary>
/// <param name="PromptTokens">The rendered, tokenized prompt; never empty.</param>
/// <param name="Sampling">How to pick each token.</param>
/// <param name="MaxTokens">Upper bound on generated tokens (at least 1).</param>
/// <param name="StopTokenIds">Generation ends (finish reason stop) when one of these is sampled; it is reported, not hidden.</param>
public sealed record GenerationRequest(
    int[] PromptTokens,
    SamplingParams Sampling,
    int MaxTokens,
    IReadOnlyList<int> StopTokenIds);
