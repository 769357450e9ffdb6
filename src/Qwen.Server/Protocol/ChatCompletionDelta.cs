using System.Text.Json.Serialization;

namespace Qwen.Server.Protocol;

/// <summary>What a chunk adds to a choice's message (OpenAI's chat completion stream delta).</summary>
public sealed record ChatCompletionDelta(
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Role,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Content,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<ChatCompletionMessageToolCall>? ToolCalls);
