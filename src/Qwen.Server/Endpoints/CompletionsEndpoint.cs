using Qwen.Server.Hosting;
using Qwen.Server.Observability;
using Qwen.Server.Protocol;
using Qwen.Server.Validation;

namespace Qwen.Server.Endpoints;

/// <summary>POST /v1/completions: a raw prompt (text or token ids), no chat template; JSON or server-sent events.</summary>
public static class CompletionsEndpoint
{
    /// <summary>Maps the route.</summary>
    public static void MapCompletions(this IEndpointRouteBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.MapPost("/v1/completions", HandleAsync)
            .WithName("CreateCompletion")
            .WithTags("OpenAI")
            .WithRequestSchema<CompletionRequest>()
            .WithDescription("With \"stream\": true the answer is text/event-stream: data: <text_completion> events, then data: [DONE].")
            .ProducesDataEvents<TextCompletion>("text_completion")
            .Produces<TextCompletion>()
            .ProducesErrors(400, 404, 413, 429, 503);
    }

    private static Task HandleAsync(HttpContext context, ModelHost model, ServerOptions options, IHostApplicationLifetime lifetime, ILogger<RequestRecord> log)
        => GenerationEndpoint.RunAsync(context, "text_completion", "cmpl-", model, lifetime, log, (body, header, cancellationToken) =>
        {
            var request = TextRequestValidator.Validate(body, model, options, cancellationToken);
            var plan = request.Plan;
            return (plan, new TextCompletionMapper(header, model.Tokenizer, plan.N, plan.TopLogprobs is not null, request.Echo ? plan.Request.PromptTokens : null, plan.IncludeUsage));
        });
}
