using System.Text.Json;
using Qwen.Server.Hosting;

namespace Qwen.Server.Validation;

/// <summary>
/// Validates a /v1/chat/completions body and renders its prompt, in this order: body and model (404 before any work);
/// every field (problems collected, one 400 lists them all); rendering and tokenizing; whether it fits the context.
/// tool_choice is decided by <see cref="ToolChoicePlan"/>, response_format read by <see cref="OutputFormat"/>, and the grammar
/// chosen by <see cref="OutputGrammar"/>.
/// </summary>
internal static class ChatRequestValidator
{
    public static GenerationPlan Validate(JsonElement root, ModelHost model, ServerOptions options, CancellationToken cancellationToken)
    {
        RequestValidator.CheckModel(root, model);
        var problems = new RequestProblems();
        var body = new FieldReader(root, null, problems);
        var chat = ChatPrompt.Read(body);
        var plan = ToolChoicePlan.Decide(body, chat.ToolNames, model.ToolCallTokenId);
        var format = OutputFormat.ReadChat(body);
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

        var ids = chat.Encode(model, options, addGenerationPrompt: true, plan.PromptPrefix, (fields.MaxTokens, "messages"), cancellationToken);
        return RequestValidator.Plan(fields, ids, model, chat: true, OutputGrammar.Select(model, plan, chat.Tools, parallel, format), plan, parallel);
    }
}
