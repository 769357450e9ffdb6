using Qwen.Server.Hosting;
using Qwen.Server.Observability;
using Qwen.Server.Protocol;
using Qwen.Server.Validation;

namespace Qwen.Server.Endpoints;

/// <summary>POST /v1/chat/completions: JSON or server-sent events.</summary>
public static class ChatCompletionsEndpoint
{
    /// <summary>Maps the route.</summary>
    public static void MapChatCompletions(this IEndpointRouteBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.MapPost("/v1/chat/completions", HandleAsync)
            .WithName("CreateChatCompletion")
            .WithTags("OpenAI")
            .WithRequestSchema<ChatCompletionRequest>()
            .WithDescription("With \"stream\": true the answer is text/event-stream: data: <chat.completion.chunk> events, then data: [DONE].")
            .ProducesDataEvents<ChatCompletionChunk>("chat.completion.chunk")
            .Produces<ChatCompletion>()
            .ProducesErrors(400, 404, 413, 429, 503);
    }

    private static Task HandleAsync(HttpContext context, ModelHost model, ServerOptions options, IHostApplicationLifetime lifetime, ILogger<RequestRecord> log)
        => GenerationEndpoint.RunAsync(context, "chat.completion", "chatcmpl-", model, lifetime, log, (body, header, cancellationToken) =>
        {
            var plan = ChatRequestValidator.Validate(body, model, options, cancellationToken);
            return (plan, new ChatCompletionMapper(header, model.Tokenizer, plan.N, plan.TopLogprobs is not null, plan.IncludeUsage));
        });
}
