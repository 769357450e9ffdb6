namespace Qwen.Inference.Engine;

/// <summary>One sampled token of a sequence, as the engine streams it.</summary>
/// <param name="TokenId">The sampled id (a stop token id is reported too, with <paramref name="Finish"/> set).</param>
/// <param name="Logprob">Log-probability of <paramref name="TokenId"/>, when the request asked for logprobs.</param>
/// <param name="TopLogprobs">The most likely alternatives, best first, when the request asked for them.</param>
/// <param name="Finish">Set on the sequence's last token.</param>
public readonly record struct GeneratedToken(
    int TokenId,
    float? Logprob,
    IReadOnlyList<TokenLogprob>? TopLogprobs,
    FinishReason? Finish);
