using System.Text.Json.Serialization;

namespace Qwen.Server.Protocol;

/// <summary>
/// GET /health/ready's body, with 200 or 503. The fields after <c>status</c> are left out for a caller that may not see
/// them (with API keys: <c>model</c> needs a key; with ProtectOperations every detail does).
/// </summary>
public sealed record ReadinessStatus
{
    /// <summary><c>ready</c> (model loaded, engine loop running; 200) or <c>not_ready</c> (503).</summary>
    public required string Status { get; init; }

    /// <summary>The served model id.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Model { get; init; }

    /// <summary>Sequences generating now.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? Running { get; init; }

    /// <summary>Sequences waiting for a slot.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? Waiting { get; init; }

    /// <summary>KV-cache slots in use.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? KvSlotsUsed { get; init; }

    /// <summary>KV-cache slots in all.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? KvSlotsTotal { get; init; }
}
