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
    public static GenerationPlan Validate(JsonElement root, ModelHost model, ServerOptions options)
    {
        RequestValidator.CheckModel(root, model);
        var problems = new RequestProblems();
        var body = new FieldReader(root, null, problems);
        var chat = ChatPrompt.Read(body);
        var toolNames = chat.ToolNames;
        var plan = ToolChoicePlan.Decide(body, toolNames, model.ToolCallTokenId);
        var jsonObject = ResponseFormat(body);
        var logprobs = body.Bool("logprobs") ?? false;
        var top = body.Int("top_logprobs", 0, 20);
        if (top is not null && !logprobs)
        {
            body.Problem("top_logprobs", "'top_logprobs' requires 'logprobs' to be true");
        }
        var parallel = body.Bool("parallel_tool_calls") ?? true;
        var fields = RequestValidator.Common(body, model, options, chat: true, logprobs ? top ?? 0 : null, plan.BannedTokenIds);
        problems.ThrowIfAny();

        var ids = chat.Encode(model, addGenerationPrompt: true, plan.PromptPrefix);
        return RequestValidator.Plan(fields, ids, model, chat: true, OutputGrammar.Select(model, plan, chat.Tools, parallel, new Protocol.ResponseFormat(jsonObject ? "json_object" : "text")), plan, parallel);
    }

    /// <summary>Checks response_format; true for json_object.</summary>
    private static bool ResponseFormat(FieldReader body)
    {
        if (body.Object("response_format") is not { } rf)
        {
            return false;
        }
        var type = rf.String("type");
        if (type is not ("text" or "json_object") && (type is not null || !rf.TryGet("type", out _)))
        {
            rf.Problem("type", $"'response_format.type' must be 'text' or 'json_object'" + (type is null ? "" : $" (given '{FieldReader.Shorten(type)}'; json_schema is not supported)"));
        }
        return type == "json_object";
    }
}
