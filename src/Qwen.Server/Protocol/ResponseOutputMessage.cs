using System.Text.Json.Serialization;

namespace Qwen.Server.Protocol;

/// <summary>An assistant <c>message</c> output item: the generated text as one <c>output_text</c> part.</summary>
public sealed record ResponseOutputMessage : ResponseOutputItem
{
    /// <summary>Always <c>message</c>.</summary>
    [JsonPropertyOrder(-2)]
    public override string Type => "message";

    /// <summary>Always <c>assistant</c>.</summary>
    public string Role => "assistant";

    /// <summary>The text parts (one; none in <c>response.output_item.added</c>).</summary>
    public required IReadOnlyList<ResponseOutputText> Content { get; init; }
}
