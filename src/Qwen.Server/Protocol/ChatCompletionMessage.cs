using System.Text.Json.Serialization;

namespace Qwen.Server.Protocol;

/// <summary>The assistant message of a choice: content (null when there is none) and tool calls.</summary>
public sealed record ChatCompletionMessage(
    string Role,
    string? Content,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<ChatCompletionMessageToolCall>? ToolCalls);
