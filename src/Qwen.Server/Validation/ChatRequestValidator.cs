using System.Text;
using System.Text.Json;
using Qwen.Server.Errors;
using Qwen.Server.Hosting;
using Qwen.Tokenization.Chat;

namespace Qwen.Server.Validation;

/// <summary>
/// Validates a /v1/chat/completions body and renders its prompt. tool_choice is done in the prompt and the sampler:
/// "none" forbids the &lt;tool_call&gt; token (logit bias −∞), "required" opens the assistant turn with "&lt;tool_call&gt;\n",
/// a named function opens it with the call's JSON up to its arguments, "auto" leaves the model free.
/// </summary>
internal static class ChatRequestValidator
{
    public static ChatRequest Validate(JsonElement body, ModelHost model, ServerOptions options)
    {
        if (body.ValueKind != JsonValueKind.Object)
        {
            throw ApiException.BadRequest("the request body must be a JSON object");
        }
        if (!body.TryGetProperty("messages", out var messages) || messages.ValueKind == JsonValueKind.Null)
        {
            throw ApiException.BadRequest("'messages' is required", "messages");
        }
        JsonElement? tools = body.TryGetProperty("tools", out var t) && t.ValueKind != JsonValueKind.Null ? t : null;
        var toolNames = ToolNames(tools);
        var (prefix, forbidToolCalls) = ToolChoice(body, toolNames);
        ResponseFormat(body);
        var logprobs = JsonFields.Bool(body, "logprobs") ?? false;
        var top = JsonFields.Int(body, "top_logprobs", 0, 20);
        if (top is not null && !logprobs)
        {
            throw ApiException.BadRequest("'top_logprobs' requires 'logprobs' to be true", "top_logprobs");
        }

        var prompt = model.Template.Render(messages, tools, addGenerationPrompt: true) + prefix;
        var ids = model.Tokenizer.Encode(prompt);
        var settings = RequestValidator.Common(body, model, options, ids.Length, chat: true);
        if (forbidToolCalls && model.ToolCallTokenId is { } toolCallId)
        {
            var bias = new Dictionary<int, float>(settings.Sampling.LogitBias ?? new Dictionary<int, float>()) { [toolCallId] = float.NegativeInfinity };
            settings = settings with { Sampling = settings.Sampling with { LogitBias = bias } };
        }
        settings = settings with { TopLogprobs = logprobs ? top ?? 0 : null };
        // Without tools the output is plain text: no parser, so whitespace is never held back.
        return new ChatRequest(ids, settings, toolNames.Count > 0 ? prefix : null, JsonFields.Bool(body, "parallel_tool_calls") ?? true);
    }

    private static List<string> ToolNames(JsonElement? tools)
    {
        var names = new List<string>();
        if (tools is not { } array)
        {
            return names;
        }
        if (array.ValueKind != JsonValueKind.Array)
        {
            throw JsonFields.Type("tools", "an array", array);
        }
        var i = 0;
        foreach (var tool in array.EnumerateArray())
        {
            var at = $"tools[{i++}]";
            if (tool.ValueKind != JsonValueKind.Object)
            {
                throw ApiException.BadRequest($"'{at}' must be an object", at);
            }
            if (JsonFields.String(tool, "type") != "function")
            {
                throw ApiException.BadRequest($"'{at}.type' must be 'function'", $"{at}.type");
            }
            if (!tool.TryGetProperty("function", out var f) || f.ValueKind != JsonValueKind.Object)
            {
                throw ApiException.BadRequest($"'{at}.function' must be an object", $"{at}.function");
            }
            if (JsonFields.String(f, "name") is not { Length: > 0 } name)
            {
                throw ApiException.BadRequest($"'{at}.function.name' is required", $"{at}.function.name");
            }
            if (f.TryGetProperty("parameters", out var p) && p.ValueKind is not (JsonValueKind.Object or JsonValueKind.Null))
            {
                throw ApiException.BadRequest($"'{at}.function.parameters' must be a JSON Schema object", $"{at}.function.parameters");
            }
            names.Add(name);
        }
        return names;
    }

    private static (string Prefix, bool Forbid) ToolChoice(JsonElement body, List<string> toolNames)
    {
        if (!body.TryGetProperty("tool_choice", out var choice) || choice.ValueKind == JsonValueKind.Null)
        {
            return ("", false);
        }
        if (choice.ValueKind == JsonValueKind.String)
        {
            switch (choice.GetString())
            {
                case "none": return ("", true);
                case "auto": return ("", false);
                case "required" when toolNames.Count > 0: return ("<tool_call>\n", false);
                case "required": throw ApiException.BadRequest("tool_choice 'required' needs 'tools'", "tool_choice");
                default: throw ApiException.BadRequest($"'tool_choice' must be none, auto, required or a function (given '{choice.GetString()}')", "tool_choice");
            }
        }
        if (choice.ValueKind == JsonValueKind.Object && choice.TryGetProperty("function", out var f) && f.ValueKind == JsonValueKind.Object
            && JsonFields.String(f, "name") is { } name)
        {
            if (!toolNames.Contains(name))
            {
                throw ApiException.BadRequest($"tool_choice names function '{name}', which is not in 'tools'", "tool_choice");
            }
            var sb = new StringBuilder("<tool_call>\n{\"name\": ");
            PythonJson.WriteString(sb, name);
            return (sb.Append(", \"arguments\": ").ToString(), false);
        }
        throw JsonFields.Type("tool_choice", "none, auto, required or {\"type\": \"function\", \"function\": {\"name\": ...}}", choice);
    }

    private static void ResponseFormat(JsonElement body)
    {
        if (!body.TryGetProperty("response_format", out var rf) || rf.ValueKind == JsonValueKind.Null)
        {
            return;
        }
        if (rf.ValueKind != JsonValueKind.Object)
        {
            throw JsonFields.Type("response_format", "an object", rf);
        }
        var type = JsonFields.String(rf, "type");
        if (type is not ("text" or "json_object"))
        {
            throw ApiException.BadRequest($"'response_format.type' must be 'text' or 'json_object' (given '{type}'); json_schema is not supported", "response_format");
        }
    }
}
