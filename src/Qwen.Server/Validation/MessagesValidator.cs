using System.Text.Json;

namespace Qwen.Server.Validation;

/// <summary>
/// Checks <c>messages</c> against OpenAI's rules before anything is rendered, recording every problem under its path
/// (messages[2].content): each message an object with a known role; content required (a string or a list of text parts)
/// except on an assistant message that carries tool_calls; name and tool_call_id strings; tool_calls only on assistant
/// messages, each with a function name and arguments. The chat template's renderer checks what it needs as well; this is
/// the API's contract, checked in full so one 400 lists every problem.
/// </summary>
internal static class MessagesValidator
{
    private static readonly string[] Roles = ["system", "user", "assistant", "tool"];

    public static void Check(FieldReader body)
    {
        if (!body.TryGet("messages", out var messages))
        {
            body.Problem("messages", "'messages' is required");
            return;
        }
        if (messages.ValueKind != JsonValueKind.Array)
        {
            body.WrongType("messages", "an array of messages", messages);
            return;
        }
        if (messages.GetArrayLength() == 0)
        {
            body.Problem("messages", "'messages' must not be empty");
            return;
        }
        var i = 0;
        foreach (var message in messages.EnumerateArray())
        {
            Message(message, $"messages[{i++}]", body.Problems);
        }
    }

    private static void Message(JsonElement message, string at, RequestProblems problems)
    {
        if (message.ValueKind != JsonValueKind.Object)
        {
            problems.Add(at, $"'{at}' must be an object (given {FieldReader.Describe(message)})");
            return;
        }
        var m = new FieldReader(message, at, problems);
        var role = m.String("role");
        if (role is null && !m.TryGet("role", out _))
        {
            m.Problem("role", $"'{at}.role' is required");
        }
        else if (role is not null && !Roles.Contains(role))
        {
            m.Problem("role", $"'{at}.role' must be one of {string.Join(", ", Roles)} (given '{FieldReader.Shorten(role)}')");
        }
        m.String("name");
        var hasToolCalls = m.TryGet("tool_calls", out var toolCalls);
        if (m.TryGet("content", out var content))
        {
            Content(content, m);
        }
        else if (!(role == "assistant" && hasToolCalls))
        {
            m.Problem("content", $"'{at}.content' is required" + (role == "assistant" ? " unless 'tool_calls' is given" : ""));
        }
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
                    ToolCall(call, $"{at}.tool_calls[{j++}]", problems);
                }
            }
        }
        if (m.String("tool_call_id") is null && role == "tool" && !m.TryGet("tool_call_id", out _))
        {
            m.Problem("tool_call_id", $"'{at}.tool_call_id' is required on tool messages");
        }
    }

    private static void Content(JsonElement content, FieldReader m)
    {
        var at = m.Param("content");
        if (content.ValueKind == JsonValueKind.String)
        {
            return;
        }
        if (content.ValueKind != JsonValueKind.Array)
        {
            m.WrongType("content", "a string or an array of text parts", content);
            return;
        }
        var i = 0;
        foreach (var part in content.EnumerateArray())
        {
            var pat = $"{at}[{i++}]";
            if (part.ValueKind != JsonValueKind.Object)
            {
                m.Problems.Add(pat, $"'{pat}' must be a content part object (given {FieldReader.Describe(part)})");
                continue;
            }
            var p = new FieldReader(part, pat, m.Problems);
            var type = p.String("type");
            if (type is null)
            {
                if (!p.TryGet("type", out _))
                {
                    p.Problem("type", $"'{pat}.type' is required");
                }
            }
            else if (type != "text")
            {
                p.Problem("type", $"'{pat}.type' must be 'text' (given '{FieldReader.Shorten(type)}'; this server reads text only)");
            }
            if (p.String("text") is null && !p.TryGet("text", out _))
            {
                p.Problem("text", $"'{pat}.text' is required");
            }
        }
    }

    private static void ToolCall(JsonElement call, string at, RequestProblems problems)
    {
        if (call.ValueKind != JsonValueKind.Object)
        {
            problems.Add(at, $"'{at}' must be an object (given {FieldReader.Describe(call)})");
            return;
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
            return;
        }
        if (f.String("name") is null && !f.TryGet("name", out _))
        {
            f.Problem("name", $"'{at}.function.name' is required");
        }
        // OpenAI sends arguments as a JSON string; an object is accepted too (the template renders either).
        if (!f.TryGet("arguments", out var args))
        {
            f.Problem("arguments", $"'{at}.function.arguments' is required");
        }
        else if (args.ValueKind is not (JsonValueKind.String or JsonValueKind.Object))
        {
            f.WrongType("arguments", "a JSON string", args);
        }
    }
}
