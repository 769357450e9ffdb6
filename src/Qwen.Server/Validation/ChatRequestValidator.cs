using System.Text.Json;
using Qwen.Server.Hosting;

namespace Qwen.Server.Validation;

/// <summary>
/// Validates a /v1/chat/completions body and renders its prompt, in this order: body and model (404 before any work);
/// every field (problems collected, one 400 lists them all); rendering and tokenizing; whether it fits the context.
/// tool_choice is decided by <see cref="ToolChoicePlan"/>.
/// </summary>
internal static class ChatRequestValidator
{
    public static ChatRequest Validate(JsonElement root, ModelHost model, ServerOptions options)
    {
        RequestValidator.CheckModel(root, model);
        var problems = new RequestProblems();
        var body = new FieldReader(root, null, problems);
        MessagesValidator.Check(body);
        var toolNames = ToolNames(body);
        var plan = ToolChoicePlan.Decide(body, toolNames, model.ToolCallTokenId);
        ResponseFormat(body);
        var logprobs = body.Bool("logprobs") ?? false;
        var top = body.Int("top_logprobs", 0, 20);
        if (top is not null && !logprobs)
        {
            body.Problem("top_logprobs", "'top_logprobs' requires 'logprobs' to be true");
        }
        var parallel = body.Bool("parallel_tool_calls") ?? true;
        var (settings, maxTokens) = RequestValidator.Common(body, model, options, chat: true);
        problems.ThrowIfAny();

        JsonElement? tools = body.TryGet("tools", out var t) ? t : null;
        var prompt = model.Template.Render(root.GetProperty("messages"), tools, addGenerationPrompt: true) + plan.PromptPrefix;
        var ids = model.Tokenizer.Encode(prompt);
        settings = RequestValidator.Fit(settings, maxTokens, ids.Length, model, chat: true);
        if (plan.BannedTokenIds.Count > 0)
        {
            var bias = new Dictionary<int, float>(settings.Sampling.LogitBias ?? new Dictionary<int, float>());
            foreach (var id in plan.BannedTokenIds)
            {
                bias[id] = float.NegativeInfinity;
            }
            settings = settings with { Sampling = settings.Sampling with { LogitBias = bias } };
        }
        settings = settings with { TopLogprobs = logprobs ? top ?? 0 : null };
        return new ChatRequest(ids, settings, plan, parallel);
    }

    private static List<string> ToolNames(FieldReader body)
    {
        var names = new List<string>();
        if (!body.TryGet("tools", out var array))
        {
            return names;
        }
        if (array.ValueKind != JsonValueKind.Array)
        {
            body.WrongType("tools", "an array", array);
            return names;
        }
        var i = 0;
        foreach (var tool in array.EnumerateArray())
        {
            var at = $"tools[{i++}]";
            if (tool.ValueKind != JsonValueKind.Object)
            {
                body.Problems.Add(at, $"'{at}' must be an object (given {FieldReader.Describe(tool)})");
                continue;
            }
            var t = new FieldReader(tool, at, body.Problems);
            var type = t.String("type");
            if (type != "function" && (type is not null || !t.TryGet("type", out _)))
            {
                t.Problem("type", $"'{at}.type' must be 'function'" + (type is null ? "" : $" (given '{FieldReader.Shorten(type)}')"));
            }
            if (t.Object("function") is not { } f)
            {
                if (!t.TryGet("function", out _))
                {
                    t.Problem("function", $"'{at}.function' is required");
                }
                continue;
            }
            f.String("description");
            if (f.TryGet("parameters", out var p) && p.ValueKind != JsonValueKind.Object)
            {
                f.WrongType("parameters", "a JSON Schema object", p);
            }
            if (f.String("name") is { Length: > 0 } name)
            {
                names.Add(name);
            }
            else if (!f.TryGet("name", out var n) || n.ValueKind == JsonValueKind.String)
            {
                f.Problem("name", $"'{at}.function.name' is required");
            }
        }
        return names;
    }

    private static void ResponseFormat(FieldReader body)
    {
        if (body.Object("response_format") is not { } rf)
        {
            return;
        }
        var type = rf.String("type");
        if (type is not ("text" or "json_object") && (type is not null || !rf.TryGet("type", out _)))
        {
            rf.Problem("type", $"'response_format.type' must be 'text' or 'json_object'" + (type is null ? "" : $" (given '{FieldReader.Shorten(type)}'; json_schema is not supported)"));
        }
    }
}
