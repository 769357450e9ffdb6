namespace Qwen.Inference.Engine;

/// <summary>
/// The sequence's reader fell more than <see cref="MaxClientLag"/> tokens behind the engine, so the engine ended the
/// sequence and freed its slot rather than buffer its output without bound. Raised to the reader after the tokens already
/// buffered.
/// </summary>
public sealed class ClientTooSlowException(int maxClientLag, int generated)
    : Exception($"the reader fell more than {maxClientLag} tokens behind the engine (EngineOptions.MaxClientLag), so the sequence was ended after {generated} tokens to free its slot")
{
    /// <summary>Tokens the reader could be behind (the output channel's capacity).</summary>
    public int MaxClientLag { get; } = maxClientLag;

    /// <summary>Tokens the sequence had generated when it was ended, the refused one included.</summary>
    public int Generated { get; } = generated;
}
