using System.Text.Json;
using Qwen.Tokenization.Chat;

namespace Qwen.Server.Validation;

/// <summary>
/// Reads <c>messages</c> into the chat template's typed messages, checking OpenAI's rules as it goes and recording every
/// problem under its path (messages[2].content): each message an object with a known role; content required (a string or
/// a list of text parts, joined with "\n") except on an assistant message that carries tool_calls; name and tool_call_id
/// strings; tool_calls only on assistant messages, each with a function name and arguments. This is the only check:
/// the renderer takes what is read here and cannot fail, so one 400 lists every problem.
/// developer (OpenAI's name for system on newer models) renders as system. An assistant message's reasoning_content or
/// reasoning (as other servers return them) is accepted and not rendered: Qwen2.5 has no reasoning turn. What would be
/// lost by ignoring it (refusal, audio, the legacy function_call) is refused.
/// </summary>
internal static class MessagesValidator
{
    private static readonly string[] Roles = ["system", "developer", "user", "assistant", "tool"];

    /// <summary>Message fields whose content the template cannot carry: ignoring them would change the conversation.</summary>
    private static readonly string[] Unsupported = ["refusal", "audio", "function_call"];

    /// <summary>The messages, or null when they had a problem (recorded in <paramref name="body"/>'s collector).</summary>
    public static List<ChatMessage>? Read(FieldReader body)
    {
        if (!body.TryGet("messages", out var messages))
        {
            body.Problem("messages", "'messages' is required");
            return null;
        }
        if (messages.ValueKind != JsonValueKind.Array)
        {
            body.WrongType("messages", "an array of messages", messages);
            return null;
        }
        if (messages.GetArrayLength() == 0)
        {
            body.Problem("messages", "'messages' must not be empty");
            return null;
        }
        var before = body.Problems.Count;
        var list = new List<ChatMessage>(messages.GetArrayLength());
        var i = 0;
        foreach (var message in messages.EnumerateArray())
        {
            if (Message(message, $"messages[{i++}]", body.Problems) is { } m)
            {
                list.Add(m);
            }
        }
        return body.Problems.Count == before ? list : null;
    }

    private static ChatMessage? Message(JsonElement message, string at, RequestProblems problems)
    {
        if (message.ValueKind != JsonValueKind.Object)
        {
            problems.Add(at, $"'{at}' must be an object (given {FieldReader.Describe(message)})");
            return null;
        }
        var m = new FieldReader(message, at, problems);
        var role = m.String("role");
        var chatRole = Role(role);
        if (role is null && !m.TryGet("role", out _))
        {
            m.Problem("role", $"'{at}.role' is required");
        }
        else if (role is not null && chatRole is null)
        {
            m.Problem("role", $"'{at}.role' must be one of {string.Join(", ", Roles)} (given '{FieldReader.Shorten(role)}')");
        }
        m.String("name");
        if (role == "assistant")
        {
            m.String("reasoning_content");
            m.String("reasoning");
        }
        foreach (var field in Unsupported)
        {
            if (m.TryGet(field, out _))
            {
                m.Problem(field, $"'{m.Param(field)}' is not supported" + (field == "function_call" ? "; send 'tool_calls'" : ""));
            }
        }
        var hasToolCalls = m.TryGet("tool_calls", out var toolCalls);
        string? text = "";
        if (m.TryGet("content", out var content))
        {
            text = TextContent.Read(content, m, "content", "text");
        }
        else if (!(role == "assistant" && hasToolCalls))
        {
            m.Problem("content", $"'{at}.content' is required" + (role == "assistant" ? " unless 'tool_calls' is given" : ""));
        }
        var calls = new List<ChatToolCall>();
        if (hasToolCalls)
        {
            if (role is not null && role != "assistant")
            {
                m.Problem("tool_calls", $"'{at}.tool_calls' is only allowed on assistant messages");
            }
            else if (toolCalls.ValueKind != JsonValueKind.Array)
            {
                m.WrongType("tool_calls", "an array", toolCalls);
            }
            else
            {
                var j = 0;
                foreach (var call in toolCalls.EnumerateArray())
                {
                    if (ToolCall(call, $"{at}.tool_calls[{j++}]", problems) is { } c)
                    {
                        calls.Add(c);
                    }
                }
            }
        }
        if (m.String("tool_call_id") is null && role == "tool" && !m.TryGet("tool_call_id", out _))
        {
            m.Problem("tool_call_id", $"'{at}.tool_call_id' is required on tool messages");
        }
        return chatRole is { } r && text is not null ? new ChatMessage(r, text, calls) : null;
    }

    /// <summary>The template's role for an OpenAI role: developer (OpenAI's name for system on newer models) is system.</summary>
    public static ChatRole? Role(string? role) => role switch
    {
        "system" or "developer" => ChatRole.System,
        "user" => ChatRole.User,
        "assistant" => ChatRole.Assistant,
        "tool" => ChatRole.Tool,
        _ => null,
    };

    private static ChatToolCall? ToolCall(JsonElement call, string at, RequestProblems problems)
    {
        if (call.ValueKind != JsonValueKind.Object)
        {
            problems.Add(at, $"'{at}' must be an object (given {FieldReader.Describe(call)})");
            return null;
        }
        var c = new FieldReader(call, at, problems);
        c.String("id");
        if (c.String("type") is { } type && type != "function")
        {
            c.Problem("type", $"'{at}.type' must be 'function' (given '{FieldReader.Shorten(type)}')");
        }
        if (c.Object("function") is not { } f)
        {
            if (!c.TryGet("function", out _))
            {
                c.Problem("function", $"'{at}.function' is required");
            }
            return null;
        }
        var name = f.String("name");
        if (name is null && !f.TryGet("name", out _))
        {
            f.Problem("name", $"'{at}.function.name' is required");
        }
        // OpenAI sends arguments as a JSON string, passed on as given; an object is accepted too, passed on as its raw
        // text. The template writes either as the value it holds (ChatToolCall.Arguments).
        if (!f.TryGet("arguments", out var args))
        {
            f.Problem("arguments", $"'{at}.function.arguments' is required");
            return null;
        }
        if (args.ValueKind is not (JsonValueKind.String or JsonValueKind.Object))
        {
            f.WrongType("arguments", "a JSON string", args);
            return null;
        }
        var text = args.ValueKind == JsonValueKind.String ? args.GetString()! : args.GetRawText();
        if (args.ValueKind == JsonValueKind.String && !JsonStrings.IsUnicodeJson(text))
        {
            f.Problem("arguments", JsonStrings.NotUnicodeJson($"{at}.function.arguments"));
            return null;
        }
        return name is null ? null : new ChatToolCall(name, text);
    }
}
