using Qwen.Server.Errors;
using Qwen.Server.Hosting;

namespace Qwen.Server.Endpoints;

/// <summary>
/// Bounds the requests rendering and tokenizing their prompt at once (<see cref="ServerOptions.MaxConcurrentPrompts"/>):
/// that CPU work happens before the engine's queue, whose 429 does not protect it. A request finding every slot taken
/// waits for one (cancelled with its token: a client that leaves stops waiting), as long as no more are waiting than the
/// engine could take (<see cref="ServerOptions.MaxNumSeqs"/> + <see cref="ServerOptions.MaxWaiting"/>, so a burst the
/// engine would admit is not refused here); beyond that it gets a 429 with Retry-After at once, like a full queue.
/// Singleton; thread-safe.
/// </summary>
internal sealed class PromptWorkLimiter
{
    private readonly SemaphoreSlim _slots;
    private readonly int _maxWaiting;
    private int _waiting;

    /// <summary>Sizes the limiter from <paramref name="options"/>.</summary>
    public PromptWorkLimiter(ServerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        Limit = Math.Max(1, options.MaxConcurrentPrompts);
        _maxWaiting = options.MaxNumSeqs + options.MaxWaiting;
        _slots = new SemaphoreSlim(Limit, Limit);
    }

    /// <summary>The most requests preparing a prompt at once.</summary>
    public int Limit { get; }

    /// <summary>Requests preparing a prompt now.</summary>
    public int Active => Limit - _slots.CurrentCount;

    /// <summary>Requests waiting for a slot now.</summary>
    public int Waiting => Volatile.Read(ref _waiting);

    /// <summary>
    /// Runs <paramref name="work"/> in a slot, waiting for one if allowed, else throws the 429; the slot is freed however
    /// the work ends. <paramref name="cancellationToken"/> cancels the wait (the work gets its own token from the caller).
    /// </summary>
    public async Task<T> RunAsync<T>(Func<T> work, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(work);
        if (!_slots.Wait(0))
        {
            if (Interlocked.Increment(ref _waiting) > _maxWaiting)
            {
                Interlocked.Decrement(ref _waiting);
                throw ApiException.QueueFull($"too many prompts are being rendered and tokenized: {Limit} at once (--max-concurrent-prompts) and {_maxWaiting} waiting; retry shortly");
            }
            try
            {
                await _slots.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                Interlocked.Decrement(ref _waiting);
            }
        }
        try
        {
            return work();
        }
        finally
        {
            _slots.Release();
        }
    }
}
