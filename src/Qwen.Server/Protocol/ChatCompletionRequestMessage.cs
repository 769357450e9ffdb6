using System.Text.Json;

namespace Qwen.Server.Protocol;

/// <summary>One message of a chat request.</summary>
public sealed record ChatCompletionRequestMessage
{
    /// <summary>system, user, assistant or tool.</summary>
    public required string Role { get; init; }

    /// <summary>A string or a list of text parts (<c>{"type": "text", "text": ...}</c>); null only on an assistant message with tool_calls.</summary>
    public JsonElement? Content { get; init; }

    /// <summary>A participant name (accepted, not rendered).</summary>
    public string? Name { get; init; }

    /// <summary>An assistant message's tool calls.</summary>
    public IReadOnlyList<ChatCompletionMessageToolCall>? ToolCalls { get; init; }

    /// <summary>A tool message's answer to this call id.</summary>
    public string? ToolCallId { get; init; }
}
