using System.Text;
using System.Text.Json;

namespace Qwen.Tokenization.Chat;

/// <summary>One OpenAI chat message, checked and flattened for rendering.</summary>
/// <param name="Role">system, user, assistant or tool.</param>
/// <param name="Content">The text (null content and text parts flattened; parts joined with "\n").</param>
/// <param name="ToolCalls">The assistant's tool calls, arguments already in the template's tojson form.</param>
internal sealed record ChatMessage(string Role, string Content, IReadOnlyList<(string Name, string ArgumentsJson)> ToolCalls)
{
    private static readonly HashSet<string> Roles = ["system", "user", "assistant", "tool"];

    public static List<ChatMessage> ParseAll(JsonElement messages)
    {
        if (messages.ValueKind != JsonValueKind.Array)
        {
            throw new ChatFormatException("'messages' must be an array", "messages");
        }
        if (messages.GetArrayLength() == 0)
        {
            throw new ChatFormatException("'messages' must not be empty", "messages");
        }
        return messages.EnumerateArray().Select((m, i) => Parse(m, i)).ToList();
    }

    private static ChatMessage Parse(JsonElement m, int index)
    {
        var at = $"messages[{index}]";
        if (m.ValueKind != JsonValueKind.Object)
        {
            throw new ChatFormatException($"{at} must be an object", at);
        }
        if (!m.TryGetProperty("role", out var roleElement) || roleElement.ValueKind != JsonValueKind.String)
        {
            throw new ChatFormatException($"{at}.role is required and must be a string", $"{at}.role");
        }
        var role = roleElement.GetString()!;
        if (!Roles.Contains(role))
        {
            throw new ChatFormatException($"{at}.role '{role}' is not one of system, user, assistant, tool", $"{at}.role");
        }
        var content = m.TryGetProperty("content", out var c) ? ParseContent(c, $"{at}.content") : "";
        var calls = new List<(string, string)>();
        if (m.TryGetProperty("tool_calls", out var toolCalls) && toolCalls.ValueKind != JsonValueKind.Null)
        {
            if (role != "assistant")
            {
                throw new ChatFormatException($"{at}.tool_calls is only allowed on assistant messages", $"{at}.tool_calls");
            }
            if (toolCalls.ValueKind != JsonValueKind.Array)
            {
                throw new ChatFormatException($"{at}.tool_calls must be an array", $"{at}.tool_calls");
            }
            var j = 0;
            foreach (var call in toolCalls.EnumerateArray())
            {
                calls.Add(ToolCall(call, $"{at}.tool_calls[{j++}]"));
            }
        }
        return new ChatMessage(role, content, calls);
    }

    private static string ParseContent(JsonElement c, string at)
    {
        switch (c.ValueKind)
        {
            case JsonValueKind.String: return c.GetString()!;
            case JsonValueKind.Null: return "";
            case JsonValueKind.Array:
                var sb = new StringBuilder();
                var i = 0;
                foreach (var part in c.EnumerateArray())
                {
                    if (part.ValueKind != JsonValueKind.Object || !part.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String)
                    {
                        throw new ChatFormatException($"{at}[{i}] must be an object with a 'type'", $"{at}[{i}]");
                    }
                    if (type.GetString() != "text")
                    {
                        throw new ChatFormatException($"{at}[{i}].type '{type.GetString()}' is not supported (only 'text' parts)", $"{at}[{i}].type");
                    }
                    if (!part.TryGetProperty("text", out var text) || text.ValueKind != JsonValueKind.String)
                    {
                        throw new ChatFormatException($"{at}[{i}].text is required and must be a string", $"{at}[{i}].text");
                    }
                    sb.Append(i > 0 ? "\n" : "").Append(text.GetString());
                    i++;
                }
                return sb.ToString();
            default:
                throw new ChatFormatException($"{at} must be a string, null or an array of text parts", at);
        }
    }

    private static (string Name, string ArgumentsJson) ToolCall(JsonElement call, string at)
    {
        if (call.ValueKind != JsonValueKind.Object)
        {
            throw new ChatFormatException($"{at} must be an object", at);
        }
        // The template unwraps tool_call.function when present.
        var f = call.TryGetProperty("function", out var function) ? function : call;
        if (f.ValueKind != JsonValueKind.Object)
        {
            throw new ChatFormatException($"{at}.function must be an object", $"{at}.function");
        }
        if (!f.TryGetProperty("name", out var name) || name.ValueKind != JsonValueKind.String)
        {
            throw new ChatFormatException($"{at}.function.name is required and must be a string", $"{at}.function.name");
        }
        if (!f.TryGetProperty("arguments", out var args))
        {
            throw new ChatFormatException($"{at}.function.arguments is required", $"{at}.function.arguments");
        }
        string json;
        if (args.ValueKind == JsonValueKind.String)
        {
            // OpenAI sends arguments as a JSON string: render the object it holds (key order kept), or the string itself if it is not JSON.
            try
            {
                using var parsed = JsonDocument.Parse(args.GetString()!);
                json = PythonJson.Dumps(parsed.RootElement);
            }
            catch (JsonException)
            {
                json = PythonJson.Dumps(args);
            }
        }
        else
        {
            json = PythonJson.Dumps(args);
        }
        return (name.GetString()!, json);
    }
}
