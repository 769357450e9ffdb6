using System.Text.Json;
using Qwen.Tokenization.Chat;

namespace Qwen.Server.Validation;

/// <summary>
/// Reads a Responses API <c>input</c> into the chat template's typed messages, recording every problem under its path
/// (input[2].content[0].type). A string is one user message. Items: messages (type "message" or no type; role user,
/// assistant, system or developer, which renders as system; content a string or input_text/output_text parts, joined with
/// "\n" as chat's text parts are); function_call items join the assistant message just before them (text and calls the
/// model wrote in one turn render as that one turn again, as chat's content plus tool_calls does; successive calls share
/// one message); function_call_output items become tool messages; reasoning items are skipped (Qwen2.5 has none to
/// replay). Item references and non-text parts are refused: nothing is stored, and this server reads text only.
/// </summary>
internal static class ResponsesInput
{
    private static readonly string[] ItemTypes = ["message", "function_call", "function_call_output", "reasoning"];
    private static readonly string[] Roles = ["user", "assistant", "system", "developer"];

    /// <summary>The messages in order (possibly none); when there were problems the list is only partial.</summary>
    public static List<ChatMessage> Read(FieldReader body)
    {
        var messages = new List<ChatMessage>();
        if (!body.TryGet("input", out var input))
        {
            body.Problem("input", "'input' is required");
            return messages;
        }
        if (input.ValueKind == JsonValueKind.String)
        {
            if (input.GetString()!.Length > 0)
            {
                messages.Add(new ChatMessage(ChatRole.User, input.GetString()!));
            }
            return messages;
        }
        if (input.ValueKind != JsonValueKind.Array)
        {
            body.WrongType("input", "a string or an array of input items", input);
            return messages;
        }
        var i = 0;
        List<ChatToolCall>? calls = null; // the tool calls of the last message, while function_call items add to it
        foreach (var item in input.EnumerateArray())
        {
            Item(item, $"input[{i++}]", body.Problems, messages, ref calls);
        }
        return messages;
    }

    private static void Item(JsonElement item, string at, RequestProblems problems, List<ChatMessage> messages, ref List<ChatToolCall>? calls)
    {
        if (item.ValueKind != JsonValueKind.Object)
        {
            problems.Add(at, $"'{at}' must be an input item object (given {FieldReader.Describe(item)})");
            return;
        }
        var it = new FieldReader(item, at, problems);
        var type = it.String("type");
        if (type is null && !it.TryGet("type", out _))
        {
            type = "message"; // OpenAI's EasyInputMessage: {"role", "content"} without a type
        }
        switch (type)
        {
            case "message":
                if (Message(it, at) is { } m)
                {
                    messages.Add(m);
                }
                break;
            case "function_call":
                if (FunctionCall(it, at) is { } call)
                {
                    // Calls in a row join one assistant message; they are appended to its list, since copying the list
                    // for each call would make 100,000 calls cost 5 billion copies.
                    if (messages.Count > 0 && ReferenceEquals(messages[^1].ToolCalls, calls))
                    {
                        calls.Add(call);
                    }
                    else if (messages.Count > 0 && messages[^1].Role == ChatRole.Assistant)
                    {
                        calls = [.. messages[^1].ToolCalls, call];
                        messages[^1] = messages[^1] with { ToolCalls = calls };
                    }
                    else
                    {
                        calls = [call];
                        messages.Add(new ChatMessage(ChatRole.Assistant, "", calls));
                    }
                }
                break;
            case "function_call_output":
                it.String("call_id");
                if (!it.TryGet("call_id", out _))
                {
                    it.Problem("call_id", $"'{at}.call_id' is required");
                }
                if (!it.TryGet("output", out var output))
                {
                    it.Problem("output", $"'{at}.output' is required");
                }
                else if (TextContent.Read(output, it, "output", "input_text", "output_text") is { } text)
                {
                    messages.Add(new ChatMessage(ChatRole.Tool, text));
                }
                break;
            case "reasoning":
                break; // a reasoning model's summary: Qwen2.5 writes none and has nothing to replay
            case "item_reference":
                it.Problem("type", $"'{at}.type' 'item_reference' is not supported: this server is stateless and stores no items; send the items themselves");
                break;
            case not null:
                it.Problem("type", $"'{at}.type' must be one of {string.Join(", ", ItemTypes)} (given '{FieldReader.Shorten(type)}')");
                break;
        }
    }

    private static ChatMessage? Message(FieldReader m, string at)
    {
        var role = m.String("role");
        var chatRole = role == "tool" ? null : MessagesValidator.Role(role); // a tool's output is a function_call_output item here
        if (role is null && !m.TryGet("role", out _))
        {
            m.Problem("role", $"'{at}.role' is required");
        }
        else if (role is not null && chatRole is null)
        {
            m.Problem("role", $"'{at}.role' must be one of {string.Join(", ", Roles)} (given '{FieldReader.Shorten(role)}')");
        }
        if (!m.TryGet("content", out var content))
        {
            m.Problem("content", $"'{at}.content' is required");
            return null;
        }
        var text = TextContent.Read(content, m, "content", "input_text", "output_text");
        return chatRole is { } r && text is not null ? new ChatMessage(r, text) : null;
    }

    private static ChatToolCall? FunctionCall(FieldReader c, string at)
    {
        c.String("call_id");
        if (!c.TryGet("call_id", out _))
        {
            c.Problem("call_id", $"'{at}.call_id' is required");
        }
        var name = c.String("name");
        if (name is null && !c.TryGet("name", out _))
        {
            c.Problem("name", $"'{at}.name' is required");
        }
        var arguments = c.String("arguments");
        if (arguments is null && !c.TryGet("arguments", out _))
        {
            c.Problem("arguments", $"'{at}.arguments' is required");
        }
        else if (arguments is not null && !JsonStrings.IsUnicodeJson(arguments))
        {
            c.Problem("arguments", JsonStrings.NotUnicodeJson($"{at}.arguments"));
            return null;
        }
        // The arguments string is passed on as given, as chat's tool_calls[].function.arguments is (ChatToolCall.Arguments).
        return name is not null && arguments is not null ? new ChatToolCall(name, arguments) : null;
    }
}
