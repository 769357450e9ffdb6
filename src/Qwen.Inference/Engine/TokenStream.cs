using Qwen.Inference.Scheduling;

namespace Qwen.Inference.Engine;

/// <summary>
/// The tokens of one request as the engine streams them (enumerate once), and how many the engine has generated so far,
/// whether or not the reader has taken them yet: what a request that stops reading early should count.
/// </summary>
public sealed class TokenStream : IAsyncEnumerable<GeneratedToken>
{
    private readonly IAsyncEnumerable<GeneratedToken> _tokens;
    private readonly Sequence _sequence;

    internal TokenStream(IAsyncEnumerable<GeneratedToken> tokens, Sequence sequence)
    {
        _tokens = tokens;
        _sequence = sequence;
    }

    /// <summary>Tokens the engine has sampled for this request so far (buffered ones included); safe from any thread.</summary>
    public int Generated => _sequence.Generated;

    /// <summary>
    /// Prompt tokens taken from the prefix cache instead of being prefilled (OpenAI's <c>usage.prompt_tokens_details.cached_tokens</c>);
    /// final once the first token has been read.
    /// </summary>
    public int CachedTokens => _sequence.CachedTokens;

    /// <inheritdoc/>
    public IAsyncEnumerator<GeneratedToken> GetAsyncEnumerator(CancellationToken cancellationToken = default) => _tokens.GetAsyncEnumerator(cancellationToken);
}
