using System.Text.Json;

namespace Qwen.Server.Protocol;

/// <summary>
/// The body of POST /v1/responses as this server reads it (the README's "/v1/responses" lists every field: honoured,
/// ignored, refused). It describes the request in the OpenAPI document; the server validates the raw JSON itself.
/// </summary>
public sealed record CreateResponseRequest
{
    /// <summary>The served model id (optional: this server serves one model).</summary>
    public string? Model { get; init; }

    /// <summary>A user message as a string, or a list of input items: messages, function_call, function_call_output (reasoning items are skipped).</summary>
    public required JsonElement Input { get; init; }

    /// <summary>A system message rendered before the input.</summary>
    public string? Instructions { get; init; }

    /// <summary>Tokens to generate at most, at least 1 (default: what fits the context).</summary>
    public int? MaxOutputTokens { get; init; }

    /// <summary>False: generation ends after the first complete function call.</summary>
    public bool? ParallelToolCalls { get; init; }

    /// <summary>Stream server-sent events (event: type, data: the event).</summary>
    public bool? Stream { get; init; }

    /// <summary>In [0, 2]; 0 is greedy. Default: the model's generation_config.json.</summary>
    public float? Temperature { get; init; }

    /// <summary>{"format": {"type": "text"}} or {"format": {"type": "json_object"}}.</summary>
    public JsonElement? Text { get; init; }

    /// <summary>none, auto, required, or {"type": "function", "name": ...}.</summary>
    public JsonElement? ToolChoice { get; init; }

    /// <summary>Functions the model may call: {"type": "function", "name", "description", "parameters", "strict"}; other tool types are ignored.</summary>
    public IReadOnlyList<JsonElement>? Tools { get; init; }

    /// <summary>Nucleus sampling mass in (0, 1]. Default: the model's generation_config.json.</summary>
    public float? TopP { get; init; }

    /// <summary>Accepted for compatibility; nothing is ever stored.</summary>
    public bool? Store { get; init; }

    /// <summary>Echoed back, not stored.</summary>
    public IReadOnlyDictionary<string, string>? Metadata { get; init; }

    /// <summary>An end-user id (echoed, not used).</summary>
    public string? User { get; init; }
}
