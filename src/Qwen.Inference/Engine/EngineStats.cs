namespace Qwen.Inference.Engine;

/// <summary>A snapshot of the engine's load, read by health checks and metrics.</summary>
public sealed record EngineStats(
    int Running,
    int Waiting,
    int SlotsUsed,
    int SlotsTotal,
    long KvTokensUsed,
    long KvTokensTotal,
    long Steps,
    bool IsRunning);
