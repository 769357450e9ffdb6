using System.Threading.Channels;
using Qwen.Inference.Engine;
using Qwen.Inference.Sampling;

namespace Qwen.Inference.Scheduling;

/// <summary>One request inside the engine: its slot, how much of its prompt is in the cache, and its output channel.</summary>
internal sealed class Sequence(GenerationRequest request, SamplingState sampling)
{
    public GenerationRequest Request { get; } = request;

    public SamplingState Sampling { get; } = sampling;

    /// <summary>Tokens flow to the caller; completed when the sequence ends.</summary>
    public Channel<GeneratedToken> Output { get; } = Channel.CreateUnbounded<GeneratedToken>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });

    /// <summary>Arrival order at the scheduler (set by <see cref="Scheduler.Enqueue"/>): the order of prefill, and of admission among equal shares.</summary>
    public long Arrival { get; set; } = -1;

    /// <summary>KV slot, or -1 while waiting.</summary>
    public int Slot { get; set; } = -1;

    /// <summary>Tokens already in the slot's cache.</summary>
    public int CacheLength { get; set; }

    /// <summary>The last sampled token, fed at the next decode step.</summary>
    public int NextInput { get; set; }

    public int Generated { get; set; }

    public bool IsPrefilling => CacheLength < Request.PromptTokens.Length;

    /// <summary>Set from any thread (caller cancelled or stopped reading); the loop frees the slot at its next step.</summary>
    public volatile bool Cancelled;
}
