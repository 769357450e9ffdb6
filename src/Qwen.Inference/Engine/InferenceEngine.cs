using Qwen.Inference.Model;

namespace Qwen.Inference.Engine;

/// <summary>
/// Continuous-batching generation over one model runner: callers submit requests and read tokens as they are sampled.
/// Thread-safe; one internal loop thread owns the runner and the KV cache. Must be disposed.
/// </summary>
public sealed class InferenceEngine : IAsyncDisposable
{
    /// <summary>Starts the engine loop over <paramref name="runner"/>, which the engine owns from now on.</summary>
    public InferenceEngine(IModelRunner runner, EngineOptions options)
    {
        ArgumentNullException.ThrowIfNull(runner);
        ArgumentNullException.ThrowIfNull(options);
        Runner = runner;
        Options = options;
    }

    /// <summary>The runner this engine drives.</summary>
    public IModelRunner Runner { get; }

    /// <summary>The settings the engine was started with.</summary>
    public EngineOptions Options { get; }

    /// <summary>The longest sequence (prompt plus output) one request may reach.</summary>
    public int MaxModelLen => Runner.MaxModelLen;

    /// <summary>
    /// Queues <paramref name="request"/> and streams its tokens. Throws <see cref="PromptTooLongException"/> (can never fit)
    /// or <see cref="EngineOverloadedException"/> (queue full) before the first token. Cancelling <paramref name="cancellationToken"/>
    /// or disposing the enumerator frees the sequence's slot within one engine step.
    /// </summary>
    public IAsyncEnumerable<GeneratedToken> GenerateAsync(GenerationRequest request, CancellationToken cancellationToken = default)
        => throw new InvalidOperationException("pending " + request + cancellationToken.IsCancellationRequested);

    /// <summary>A snapshot of running, waiting and KV cache use.</summary>
    public EngineStats GetStats() => throw new InvalidOperationException("pending");

    /// <inheritdoc/>
    public ValueTask DisposeAsync()
    {
        Runner.Dispose();
        return ValueTask.CompletedTask;
    }
}
