namespace Qwen.Inference.Engine;

/// <summary>
/// A token id with its log-probability: the log-softmax of the penalised logits (after logit_bias and the repetition,
/// presence and frequency penalties), before temperature, top_k/top_p/min_p and any token constraint.
/// </summary>
public readonly record struct TokenLogprob(int TokenId, float Logprob);
