using System.Threading.Channels;
using Qwen.Inference.Engine;
using Qwen.Inference.Sampling;

namespace Qwen.Inference.Scheduling;

/// <summary>One request inside the engine: its slot, how much of its prompt is in the cache, and its output channel.</summary>
internal sealed class Sequence(GenerationRequest request, SamplingState sampling, int maxClientLag)
{
    private int _generated;
    private int _cachedTokens;

    public GenerationRequest Request { get; } = request;

    public SamplingState Sampling { get; } = sampling;

    /// <summary>
    /// Tokens flow to the caller; completed when the sequence ends. Bounded by <see cref="EngineOptions.MaxClientLag"/>: the
    /// loop only ever TryWrites, and a full channel ends the sequence (a reader that does not read cannot pin memory).
    /// </summary>
    public Channel<GeneratedToken> Output { get; } = Channel.CreateBounded<GeneratedToken>(new BoundedChannelOptions(maxClientLag) { SingleReader = true, SingleWriter = true, FullMode = BoundedChannelFullMode.Wait });

    /// <summary>Arrival order at the scheduler (set by <see cref="Scheduler.Enqueue"/>): the order of prefill, and of admission among equal shares.</summary>
    public long Arrival { get; set; } = -1;

    /// <summary>KV slot, or -1 while waiting.</summary>
    public int Slot { get; set; } = -1;

    /// <summary>Tokens already in the slot's cache.</summary>
    public int CacheLength { get; set; }

    /// <summary>The last sampled token, fed at the next decode step.</summary>
    public int NextInput { get; set; }

    /// <summary>Tokens sampled so far; written by the loop thread, read from any thread (what a reader's request counts).</summary>
    public int Generated
    {
        get => Volatile.Read(ref _generated);
        set => Volatile.Write(ref _generated, value);
    }

    /// <summary>Prompt tokens reused from the prefix cache; set by the loop thread before the first token, read from any thread.</summary>
    public int CachedTokens
    {
        get => Volatile.Read(ref _cachedTokens);
        set => Volatile.Write(ref _cachedTokens, value);
    }

    public bool IsPrefilling => CacheLength < Request.PromptTokens.Length;

    /// <summary>Set from any thread (caller cancelled or stopped reading); the loop frees the slot at its next step.</summary>
    public volatile bool Cancelled;

    /// <summary>Whether the scheduler has ended it (engine loop thread only): its output is then completed, once.</summary>
    public bool Ended { get; set; }
}
