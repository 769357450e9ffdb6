using System.Text.Json.Serialization;

namespace Qwen.Server.Protocol;

/// <summary>A tool call in a message, or a piece of one in a stream delta (then only index is always set).</summary>
public sealed record ChatCompletionMessageToolCall(
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] int? Index,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Id,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Type,
    FunctionCall Function);
