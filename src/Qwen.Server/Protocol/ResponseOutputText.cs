using System.Text.Json.Serialization;

namespace Qwen.Server.Protocol;

/// <summary>An <c>output_text</c> content part.</summary>
/// <param name="Text">The text.</param>
public sealed record ResponseOutputText([property: JsonPropertyOrder(1)] string Text)
{
    /// <summary>Always <c>output_text</c>.</summary>
    [JsonPropertyOrder(-1)]
    public string Type => "output_text";

    /// <summary>Always empty: this server cites nothing.</summary>
    public IReadOnlyList<object> Annotations { get; init; } = [];

    /// <summary>Always empty: this endpoint does not return logprobs.</summary>
    public IReadOnlyList<object> Logprobs { get; init; } = [];
}
