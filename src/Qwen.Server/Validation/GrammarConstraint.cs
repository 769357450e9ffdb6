using Qwen.Inference.Sampling;
using Qwen.Tokenization.Constraints;

namespace Qwen.Server.Validation;

/// <summary>
/// A Qwen.Tokenization grammar seen as the engine's constraint hook: the two layers never reference each other, so the
/// host joins them. One per generated sequence; called by the engine from one thread at a time (not always the same one).
/// </summary>
internal sealed class GrammarConstraint(TokenGrammar grammar) : ITokenConstraint
{
    /// <inheritdoc/>
    public bool IsAllowed(int tokenId) => grammar.IsAllowed(tokenId);

    /// <inheritdoc/>
    public void FillAllowed(Span<ulong> mask, int vocabulary) => grammar.FillAllowed(mask); // every id past the tokenizer's is refused

    /// <inheritdoc/>
    public void Accept(int tokenId) => grammar.Accept(tokenId);
}
