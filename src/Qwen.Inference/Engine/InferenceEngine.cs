using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Qwen.Inference.Model;
using Qwen.Inference.Sampling;
using Qwen.Inference.Scheduling;

namespace Qwen.Inference.Engine;

/// <summary>
/// Continuous-batching generation over one model runner: callers submit requests and read tokens as they are sampled.
/// Thread-safe; one dedicated loop thread owns the runner, the KV cache and the sampler. Must be disposed.
/// </summary>
public sealed class InferenceEngine : IAsyncDisposable
{
    private readonly ConcurrentQueue<Sequence> _incoming = new();
    private readonly SemaphoreSlim _wake = new(0);
    private readonly Scheduler _scheduler;
    private readonly Thread _loop;
    private readonly Lock _gate = new(); // orders "not stopping, so enqueue" against "stopping, so drain"
    private volatile bool _stopping;
    private int _inFlight; // accepted and not yet ended (waiting, handed over or holding a slot): callers add, the loop subtracts
    private long _steps;

    /// <summary>Starts the engine loop over <paramref name="runner"/>, which the engine owns from now on.</summary>
    public InferenceEngine(IModelRunner runner, EngineOptions options)
    {
        ArgumentNullException.ThrowIfNull(runner);
        CheckOptions(options);
        Runner = runner;
        Info = runner.Info;
        Options = options;
        _scheduler = new Scheduler(runner, options, _ => Interlocked.Decrement(ref _inFlight));
        _loop = new Thread(Loop) { IsBackground = true, Name = "qwen-engine-loop" };
        _loop.Start();
    }

    /// <summary>The runner this engine drives; engine loop thread only, so callers outside the engine read <see cref="Info"/>.</summary>
    internal IModelRunner Runner { get; }

    /// <summary>What the loaded model is and holds (vocabulary, slots, precision, KV cache, device), as its runner described itself at start.</summary>
    public ModelInfo Info { get; }

    /// <summary>The settings the engine was started with.</summary>
    public EngineOptions Options { get; }

    /// <summary>The longest sequence (prompt plus output) one request may reach.</summary>
    public int MaxModelLen => Info.MaxModelLen;

    /// <summary>
    /// Tokens per block of the prefix cache's index: a prompt is matched block by block (the last partial block token by
    /// token), so a router that hashes prompts in blocks of this size predicts our reuse (vLLM's block_size, for the same reason).
    /// </summary>
    public const int PrefixBlockSize = KvCache.PrefixIndex.BlockSize;

    /// <summary>
    /// Loads the exported model in <paramref name="modelDirectory"/> and starts an engine over it: with ONNX Runtime, or with
    /// <paramref name="runnerFactory"/> when given (tests pass scripted runners). Failures reading the manifest or loading the
    /// model propagate with their own message (the manifest's path and the rule it breaks); the options are checked first.
    /// </summary>
    public static InferenceEngine Load(string modelDirectory, EngineOptions options, Func<string, EngineOptions, IModelRunner>? runnerFactory = null)
    {
        ArgumentNullException.ThrowIfNull(modelDirectory);
        CheckOptions(options); // before the model load: a bad option should not cost one
        var runner = (runnerFactory ?? OnnxModelRunner.Create)(modelDirectory, options);
        try
        {
            return new InferenceEngine(runner, options);
        }
        catch
        {
            runner.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Queues <paramref name="request"/> and streams its tokens. Throws <see cref="PromptTooLongException"/> (can never fit)
    /// or <see cref="EngineOverloadedException"/> (more than MaxNumSeqs + MaxWaiting requests would be in flight) at once,
    /// before anything is queued. Cancelling <paramref name="cancellationToken"/> or disposing the enumerator frees the
    /// sequence's slot within one engine step. The output ends (finish reason length) when prompt plus output reach
    /// <see cref="MaxModelLen"/>, whatever <see cref="GenerationRequest.MaxTokens"/> says. A reader that falls more than
    /// <see cref="EngineOptions.MaxClientLag"/> tokens behind gets the buffered tokens, then <see cref="ClientTooSlowException"/>
    /// (its slot was freed when the engine found the buffer full).
    /// </summary>
    public TokenStream GenerateAsync(GenerationRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.PromptTokens.Length == 0)
        {
            throw new ArgumentException("the prompt must have at least one token", nameof(request));
        }
        ArgumentOutOfRangeException.ThrowIfLessThan(request.MaxTokens, 1);
        if (request.PromptTokens.Length >= Runner.MaxModelLen)
        {
            throw new PromptTooLongException($"the prompt has {request.PromptTokens.Length} tokens; this engine holds at most {Runner.MaxModelLen} tokens per sequence, prompt and output together", request.PromptTokens.Length, Runner.MaxModelLen);
        }
        if (request.PromptTokens.Any(t => (uint)t >= (uint)Runner.VocabSize))
        {
            throw new ArgumentOutOfRangeException(nameof(request), $"prompt token ids must be in [0, {Runner.VocabSize})");
        }
        if (request.Constraint is not null && request.StopTokenIds.Count == 0)
        {
            throw new ArgumentException("a request with a token constraint needs at least one stop token id (it ends with the first when the constraint allows no token)", nameof(request));
        }
        var sequence = new Sequence(request, new SamplingState(request.Sampling, request.PromptTokens, Runner.VocabSize), Options.MaxClientLag);
        // One counter, incremented here and decremented by the loop when a sequence ends: the bound is exact.
        if (Interlocked.Increment(ref _inFlight) > Options.MaxWaiting + Runner.MaxNumSeqs)
        {
            Interlocked.Decrement(ref _inFlight);
            throw new EngineOverloadedException($"the engine is full: {Runner.MaxNumSeqs} running and {Options.MaxWaiting} waiting; retry later");
        }
        lock (_gate)
        {
            if (_stopping)
            {
                Interlocked.Decrement(ref _inFlight);
                throw new ObjectDisposedException(nameof(InferenceEngine));
            }
            _incoming.Enqueue(sequence);
        }
        // Registered now, not when the caller starts reading: a request that is never read is still cancellable.
        var registration = cancellationToken.Register(() => Cancel(sequence));
        Wake();
        return new TokenStream(ReadAsync(sequence, registration, cancellationToken), sequence);
    }

    /// <summary>A snapshot of running, waiting and KV cache use.</summary>
    public EngineStats GetStats()
    {
        var used = _scheduler.SlotsUsed;
        return new(
            _scheduler.Running,
            Math.Max(0, Volatile.Read(ref _inFlight) - used),
            used,
            Runner.MaxNumSeqs,
            _scheduler.KvTokensUsed,
            (long)Runner.MaxNumSeqs * Runner.MaxModelLen,
            Interlocked.Read(ref _steps),
            _loop.IsAlive && !_stopping)
        {
            PrefixCache = _scheduler.PrefixCache,
        };
    }

    /// <summary>Share of step time spent outside the runner (sampling and bookkeeping), since start.</summary>
    public double OutsideRunShare => _scheduler.StepTime.Ticks == 0 ? 0 : 1 - ((double)_scheduler.RunTime.Ticks / _scheduler.StepTime.Ticks);

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        lock (_gate)
        {
            _stopping = true;
        }
        _wake.Release();
        await Task.Run(() => _loop.Join()).ConfigureAwait(false);
        Runner.Dispose();
        _wake.Dispose();
    }

    private async IAsyncEnumerable<GeneratedToken> ReadAsync(Sequence sequence, CancellationTokenRegistration registration, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var _ = registration;
        try
        {
            var reader = sequence.Output.Reader;
            while (await reader.WaitToReadAsync(CancellationToken.None).ConfigureAwait(false))
            {
                while (reader.TryRead(out var token))
                {
                    yield return token;
                }
            }
            cancellationToken.ThrowIfCancellationRequested();
        }
        finally
        {
            // Covers a consumer that stops reading early (break, dispose): the slot is freed at the next step.
            if (!sequence.Output.Reader.Completion.IsCompleted)
            {
                Cancel(sequence);
            }
        }
    }

    private void Cancel(Sequence sequence)
    {
        sequence.Cancelled = true;
        Wake();
    }

    private void Wake()
    {
        try
        {
            _wake.Release();
        }
        catch (ObjectDisposedException)
        {
            // The engine was disposed meanwhile: its loop already ended every sequence it was given.
        }
    }

    private static void CheckOptions(EngineOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.PrefillChunkSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxWaiting, 0);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxClientLag, 1);
    }

    private void Loop()
    {
        while (!_stopping)
        {
            while (_incoming.TryDequeue(out var s))
            {
                _scheduler.Enqueue(s);
            }
            bool worked;
            try
            {
                worked = _scheduler.Step();
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                _scheduler.FailAll(e);
                worked = true;
            }
            if (worked)
            {
                Interlocked.Increment(ref _steps);
            }
            else
            {
                _wake.Wait(); // idle: sleep until a request arrives or one is cancelled
            }
        }
        // Nothing is enqueued once _stopping is set (under _gate), so this ends every request ever accepted.
        while (_incoming.TryDequeue(out var late))
        {
            _scheduler.Enqueue(late);
        }
        _scheduler.FailAll(new OperationCanceledException("the engine is shutting down"));
    }
}
