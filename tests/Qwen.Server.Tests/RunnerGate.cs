namespace Qwen.Server.Tests;

/// <summary>
/// Holds the scripted model's engine loop at a chosen token until the test opens it, so a test can act while a request
/// is known to be in flight (and assert what reached the client before generation went on). It blocks once; after
/// <see cref="Open"/> it never blocks again. A bound on the wait keeps a failing test from hanging the engine forever.
/// </summary>
public sealed class RunnerGate
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);
    private readonly TaskCompletionSource _reached = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly ManualResetEventSlim _open = new(false);

    /// <summary>Completes when the engine loop is blocked at the gate.</summary>
    public Task Reached => _reached.Task;

    /// <summary>Whether the engine loop is (or was) held here and the gate is still closed.</summary>
    public bool IsHolding => _reached.Task.IsCompleted && !_open.IsSet;

    /// <summary>Lets the engine loop go on.</summary>
    public void Open() => _open.Set();

    /// <summary>Engine loop thread: blocks until <see cref="Open"/> (or the bound).</summary>
    internal void Block()
    {
        if (_open.IsSet)
        {
            return;
        }
        _reached.TrySetResult();
        _open.Wait(Bound);
    }
}
