namespace Qwen.Server.Tests.Robustness;

/// <summary>
/// One armed watch of <see cref="ProbedRunner"/>: <see cref="Reached"/> completes (with the prompt tokens already in
/// the cache) when the engine thread enters the awaited prefill chunk. A blocking hold also waits there, so nothing of
/// that prompt (or any other sequence) advances until <see cref="Release"/>; the runner gives up waiting after 30 s so
/// a failed test cannot wedge the engine.
/// </summary>
internal sealed class PrefillHold(int marker, int afterSequence, int minPast, bool blocking)
{
    public int Marker { get; } = marker;

    /// <summary>Only sequences started after the hold was armed qualify (an older one with the marker may still be draining).</summary>
    public int AfterSequence { get; } = afterSequence;

    public int MinPast { get; } = minPast;

    public bool Blocking { get; } = blocking;

    public TaskCompletionSource<int> Reached { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public ManualResetEventSlim Released { get; } = new();

    public void Release() => Released.Set();
}
