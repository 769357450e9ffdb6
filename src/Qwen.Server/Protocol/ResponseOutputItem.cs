using System.Text.Json.Serialization;

namespace Qwen.Server.Protocol;

/// <summary>
/// One entry of a response's <c>output</c>: a message or a function call. Serialized as its runtime type (no
/// discriminator property beyond the item's own <c>type</c>).
/// </summary>
[JsonDerivedType(typeof(ResponseOutputMessage))]
[JsonDerivedType(typeof(ResponseFunctionToolCall))]
public abstract record ResponseOutputItem
{
    /// <summary><c>message</c> or <c>function_call</c>.</summary>
    [JsonPropertyOrder(-2)]
    public abstract string Type { get; }

    /// <summary>The item's id, <c>msg_…</c> or <c>fc_…</c>.</summary>
    [JsonPropertyOrder(-1)]
    public required string Id { get; init; }

    /// <summary>in_progress while streamed, then completed, or incomplete when max_output_tokens cut it.</summary>
    [JsonPropertyOrder(-1)]
    public required string Status { get; init; }
}
