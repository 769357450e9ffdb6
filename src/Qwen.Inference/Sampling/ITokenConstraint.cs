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

    /// <summary>Advances past the sampled token (always one that IsAllowed accepted).</summary>
    void Accept(int tokenId);
}
