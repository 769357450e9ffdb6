namespace Qwen.Bench.Pool;

/// <summary>
/// Today's <c>deploy/k8s</c> Service, as kube-proxy's round-robin would spread new connections: replica 0, 1, ..., N-1,
/// 0, ... whatever each one is doing.
/// </summary>
internal sealed class RoundRobinPicker(int replicas) : IReplicaPicker
{
    private int _next = -1;

    /// <inheritdoc/>
    public string Name => "round-robin";

    /// <inheritdoc/>
    public int Pick() => (int)((uint)Interlocked.Increment(ref _next) % (uint)replicas);
}
