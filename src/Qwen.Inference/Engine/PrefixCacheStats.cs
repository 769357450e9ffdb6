namespace Qwen.Inference.Engine;

/// <summary>Prefix cache counters since start (all zero with prefix caching off).</summary>
/// <param name="Lookups">Sequences whose prompt was looked up (one per sequence, when its first chunk was due).</param>
/// <param name="Hits">Of those, sequences that reused at least one token.</param>
/// <param name="QueriedTokens">Prompt tokens looked up.</param>
/// <param name="HitTokens">Prompt tokens taken from the cache instead of being prefilled.</param>
public sealed record PrefixCacheStats(long Lookups, long Hits, long QueriedTokens, long HitTokens)
{
    /// <summary>No lookups yet.</summary>
    public static PrefixCacheStats None { get; } = new(0, 0, 0, 0);

    /// <summary>These counts plus one lookup of <paramref name="promptTokens"/> that reused <paramref name="reused"/>.</summary>
    public PrefixCacheStats Add(int promptTokens, int reused)
        => new(Lookups + 1, Hits + (reused > 0 ? 1 : 0), QueriedTokens + promptTokens, HitTokens + reused);
}
