using System.Text.Json.Serialization;

namespace Qwen.Server.Protocol;

/// <summary>A <c>function_call</c> output item: a call the client runs and answers with a function_call_output input item.</summary>
public sealed record ResponseFunctionToolCall : ResponseOutputItem
{
    /// <summary>Always <c>function_call</c>.</summary>
    [JsonPropertyOrder(-2)]
    public override string Type => "function_call";

    /// <summary>The id the client's function_call_output refers to, <c>call_…</c>.</summary>
    public required string CallId { get; init; }

    /// <summary>The function's name.</summary>
    public required string Name { get; init; }

    /// <summary>The arguments, a JSON object as text ("" in <c>response.output_item.added</c>).</summary>
    public required string Arguments { get; init; }
}
