namespace Qwen.Server.Protocol;

/// <summary>vLLM's /detokenize request.</summary>
public sealed record DetokenizeRequest
{
    /// <summary>The served model id (optional).</summary>
    public string? Model { get; init; }

    /// <summary>Token ids to decode.</summary>
    public required IReadOnlyList<int> Tokens { get; init; }
}
