namespace Qwen.Server.Protocol;

/// <summary>GET /health's body: the process answers.</summary>
/// <param name="Status">Always <c>alive</c>.</param>
public sealed record HealthStatus(string Status);
