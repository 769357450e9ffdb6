using Qwen.Inference.Engine;

namespace Qwen.Inference.Sampling;

/// <summary>The token a sampler picked, with its log-probability and the top alternatives when asked for.</summary>
public readonly record struct SampledToken(int TokenId, float? Logprob, IReadOnlyList<TokenLogprob>? TopLogprobs);
