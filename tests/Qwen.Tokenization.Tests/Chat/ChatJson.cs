using System.Text.Json;
using Qwen.Tokenization.Chat;

namespace Qwen.Tokenization.Tests.Chat;

/// <summary>
/// Turns the test cases' conversations, written as JSON in OpenAI's shape (the golden files are), into the renderer's
/// typed input. No checks: the cases are well-formed, and reading client JSON is the server's validation, tested there.
/// </summary>
internal static class ChatJson
{
    /// <summary>A messages array: string or null content, tool calls with their arguments as sent.</summary>
    public static List<ChatMessage> Messages(JsonElement messages) => messages.EnumerateArray().Select(Message).ToList();

    /// <summary>A tools array, or JSON null for none.</summary>
    public static List<ChatTool> Tools(JsonElement tools) => tools.ValueKind == JsonValueKind.Null
        ? []
        : tools.EnumerateArray().Select(t => new ChatTool(t.GetProperty("function").GetProperty("name").GetString()!, t.Clone())).ToList();

    private static ChatMessage Message(JsonElement m)
    {
        var role = m.GetProperty("role").GetString() switch
        {
            "system" => ChatRole.System,
            "user" => ChatRole.User,
            "assistant" => ChatRole.Assistant,
            "tool" => ChatRole.Tool,
            var other => throw new ArgumentException($"role '{other}' in a test case"),
        };
        var content = m.TryGetProperty("content", out var c) && c.ValueKind == JsonValueKind.String ? c.GetString()! : "";
        var calls = m.TryGetProperty("tool_calls", out var toolCalls) ? toolCalls.EnumerateArray().Select(Call).ToList() : [];
        return new ChatMessage(role, content, calls);
    }

    private static ChatToolCall Call(JsonElement call)
    {
        var f = call.GetProperty("function");
        var arguments = f.GetProperty("arguments");
        // As the server passes them: OpenAI's arguments string as given, an object as its raw text.
        return new ChatToolCall(f.GetProperty("name").GetString()!, arguments.ValueKind == JsonValueKind.String ? arguments.GetString()! : arguments.GetRawText());
    }
}
