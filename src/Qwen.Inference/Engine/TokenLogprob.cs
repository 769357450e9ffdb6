namespace Qwen.Inference.Engine;

/// <summary>A token id with its log-probability under the distribution that was sampled from.</summary>
public readonly record struct TokenLogprob(int TokenId, float Logprob);
