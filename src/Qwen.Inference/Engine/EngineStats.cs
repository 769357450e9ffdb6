namespace Qwen.Inference.Engine;

/// <summary>A snapshot of the engine's load, read by health checks and metrics.</summary>
/// <param name="Running">Sequences decoding (their prompt is in the cache).</param>
/// <param name="Waiting">Accepted requests without a slot yet.</param>
/// <param name="SlotsUsed">KV slots held: decoding sequences plus prompts still being prefilled.</param>
/// <param name="SlotsTotal">KV slots in the cache.</param>
/// <param name="KvTokensUsed">Tokens held in the KV cache.</param>
/// <param name="KvTokensTotal">Tokens the KV cache can hold.</param>
/// <param name="Steps">Engine steps run since start.</param>
/// <param name="IsRunning">Whether the engine loop is alive and not shutting down.</param>
public sealed record EngineStats(
    int Running,
    int Waiting,
    int SlotsUsed,
    int SlotsTotal,
    long KvTokensUsed,
    long KvTokensTotal,
    long Steps,
    bool IsRunning)
{
    /// <summary>Prefix cache lookups and hits since start.</summary>
    public PrefixCacheStats PrefixCache { get; init; } = PrefixCacheStats.None;
}
