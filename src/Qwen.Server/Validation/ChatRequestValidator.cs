using System.Text.Json;
using Qwen.Inference.Sampling;
using Qwen.Server.Hosting;
using Qwen.Tokenization.Constraints;

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
        ChatFieldPolicy.Check(body);
        var fields = RequestValidator.Common(body, model, options, chat: true, logprobs ? top ?? 0 : null, plan.BannedTokenIds);
        problems.ThrowIfAny();

        var ids = chat.Encode(model, addGenerationPrompt: true, plan.PromptPrefix);
        return RequestValidator.Plan(fields, ids, model, chat: true, Grammar(model, plan, toolNames, parallel, jsonObject), plan, parallel);
    }

    /// <summary>
    /// Forced tool calls and json_object are grammar-constrained, so they always come out well-formed (the arguments'
    /// JSON schema is not enforced). A forced call wins over json_object: its arguments are a JSON object anyway.
    /// </summary>
    private static Func<ITokenConstraint>? Grammar(ModelHost model, ToolChoicePlan plan, IReadOnlyList<string> toolNames, bool parallel, bool jsonObject)
    {
        var stops = model.Defaults.EosTokenIds;
        return plan.Mode switch
        {
            "function" => () => new GrammarConstraint(TokenGrammar.NamedToolCall(model.TokenBytes, stops)),
            "required" => () => new GrammarConstraint(TokenGrammar.RequiredToolCall(model.TokenBytes, toolNames, parallel, stops)),
            _ when jsonObject => () => new GrammarConstraint(TokenGrammar.JsonObject(model.TokenBytes, stops)),
            _ => null,
        };
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
