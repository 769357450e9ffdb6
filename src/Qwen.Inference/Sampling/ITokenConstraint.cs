namespace Qwen.Inference.Sampling;

/// <summary>Restricts which token may come next (grammar-constrained decoding). Engine loop thread only.</summary>
public interface ITokenConstraint
{
    /// <summary>Whether <paramref name="tokenId"/> may be sampled next.</summary>
    bool IsAllowed(int tokenId);

    /// <summary>Advances past the sampled token (always one that IsAllowed accepted).</summary>
    void Accept(int tokenId);
}
