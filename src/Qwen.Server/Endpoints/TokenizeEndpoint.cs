using System.Text.Json;
using Qwen.Server.Errors;
using Qwen.Server.Hosting;
using Qwen.Server.Protocol;
using Qwen.Server.Validation;

namespace Qwen.Server.Endpoints;

/// <summary>POST /tokenize and /detokenize in vLLM's shapes.</summary>
public static class TokenizeEndpoint
{
    /// <summary>Maps the routes.</summary>
    public static void MapTokenize(this IEndpointRouteBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.MapPost("/tokenize", TokenizeAsync).WithName("Tokenize").WithTags("Extensions")
            .WithRequestSchema<TokenizeRequest>().Produces<TokenizeResponse>().ProducesErrors(400, 404, 413, 429);
        app.MapPost("/detokenize", DetokenizeAsync).WithName("Detokenize").WithTags("Extensions")
            .WithRequestSchema<DetokenizeRequest>().Produces<DetokenizeResponse>().ProducesErrors(400, 404, 413);
    }

    private static async Task<IResult> TokenizeAsync(HttpContext context, ModelHost model, ServerOptions options, PromptWorkLimiter limiter)
    {
        using var body = await RequestBody.ReadAsync(context).ConfigureAwait(false);
        return await limiter.RunAsync(() => Tokenize(body.RootElement, model, options, context.RequestAborted), context.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>
    /// The ids of a raw <c>prompt</c> (special-token text stays control tokens, as for /v1/completions) or of
    /// <c>messages</c> (with <c>tools</c> and <c>tool_choice</c>) rendered as chat renders them. No length check: counting
    /// a text longer than the context is a use.
    /// </summary>
    private static IResult Tokenize(JsonElement root, ModelHost model, ServerOptions options, CancellationToken cancellationToken)
    {
        RequestValidator.CheckModel(root, model);
        var problems = new RequestProblems();
        var fields = new FieldReader(root, null, problems);
        var prompt = fields.String("prompt");
        var addGenerationPrompt = fields.Bool("add_generation_prompt") ?? true;
        var hasMessages = fields.TryGet("messages", out _);
        ChatPrompt? chat = null;
        var opening = "";
        if (prompt is null && !hasMessages && !fields.TryGet("prompt", out _))
        {
            fields.Problem("prompt", "give 'prompt' or 'messages'");
        }
        else if (prompt is null && hasMessages)
        {
            chat = ChatPrompt.Read(fields);
            // A forced tool_choice opens the assistant turn with the start of the call, as a chat request's prompt does.
            opening = addGenerationPrompt ? ToolChoicePlan.Decide(fields, chat.ToolNames, model.ToolCallTokenId).PromptPrefix : "";
        }
        problems.ThrowIfAny();
        var ids = prompt is not null ? model.Tokenizer.Encode(prompt, cancellationToken) : chat!.Encode(model, options, addGenerationPrompt, opening, null, cancellationToken);
        return TypedResults.Json(new TokenizeResponse(ids.Length, model.Engine.MaxModelLen, ids), WireJson.Options);
    }

    private static async Task<IResult> DetokenizeAsync(HttpContext context, ModelHost model)
    {
        using var body = await RequestBody.ReadAsync(context).ConfigureAwait(false);
        var root = body.RootElement;
        RequestValidator.CheckModel(root, model);
        if (!root.TryGetProperty("tokens", out var tokens) || tokens.ValueKind != JsonValueKind.Array)
        {
            throw ApiException.BadRequest("'tokens' must be an array of token ids", "tokens");
        }
        var ids = tokens.EnumerateArray().Select(e => e.ValueKind == JsonValueKind.Number && e.TryGetInt32(out var id) && id >= 0 && id < model.Tokenizer.TokenCount
            ? id
            : throw ApiException.BadRequest($"'tokens' must hold token ids in [0, {model.Tokenizer.TokenCount})", "tokens")).ToArray();
        return TypedResults.Json(new DetokenizeResponse(model.Tokenizer.Decode(ids)), WireJson.Options);
    }
}
