namespace Qwen.Inference.Sampling;

/// <summary>
/// One logits row as the candidates graph gives it: the row's K highest raw logits, best first (equal values: lower id
/// first, as ONNX TopK orders them), their token ids, and the log-sum-exp of the whole raw row. Enough to sample most rows
/// exactly without reading the row itself (see <see cref="Sampler.TrySampleCandidates"/>).
/// </summary>
public readonly ref struct CandidateRow(ReadOnlySpan<float> values, ReadOnlySpan<int> ids, float logSumExp)
{
    /// <summary>The K highest raw logits of the row, best first.</summary>
    public ReadOnlySpan<float> Values { get; } = values;

    /// <summary>The token id of each value.</summary>
    public ReadOnlySpan<int> Ids { get; } = ids;

    /// <summary>log(sum(exp(x))) over the whole raw row (before any penalty).</summary>
    public float LogSumExp { get; } = logSumExp;
}
