namespace Qwen.Inference.Sampling;

/// <summary>
/// Restricts which token may come next (grammar-constrained decoding). Called by the engine, one sequence's constraint by
/// one thread at a time but not always the same one: large decode batches are sampled on worker threads (a row per
/// worker), so an implementation must not rely on thread affinity; it is never called concurrently for one sequence.
/// </summary>
public interface ITokenConstraint
{
    /// <summary>Whether <paramref name="tokenId"/> may be sampled next.</summary>
    bool IsAllowed(int tokenId);

    /// <summary>
    /// For every id i below <paramref name="vocabulary"/>, sets bit i of <paramref name="mask"/> (word i / 64, bit i % 64)
    /// exactly when <see cref="IsAllowed"/>(i) is true, else clears it; the mask has ceil(vocabulary / 64) words and its
    /// bits past the vocabulary are ignored. The sampler calls it once when its first pick is refused, so an implementation
    /// can decide the whole vocabulary in bulk; this default asks IsAllowed for every id below the vocabulary, as the
    /// sampler's scan did before (never past it: an implementation may index a table by token id).
    /// </summary>
    void FillAllowed(Span<ulong> mask, int vocabulary)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(vocabulary, mask.Length * 64, nameof(vocabulary));
        mask.Clear();
        for (var i = 0; i < vocabulary; i++)
        {
            if (IsAllowed(i))
            {
                mask[i >> 6] |= 1UL << i;
            }
        }
    }

    /// <summary>Advances past the sampled token (always one that IsAllowed accepted).</summary>
    void Accept(int tokenId);
}
