using Qwen.Server.Hosting;
using Qwen.Server.Observability;
using Qwen.Server.Protocol;
using Qwen.Server.Validation;

namespace Qwen.Server.Endpoints;

/// <summary>POST /v1/responses: OpenAI's Responses API, stateless (nothing is stored); JSON or server-sent events.</summary>
public static class ResponsesEndpoint
{
    /// <summary>Maps the route.</summary>
    public static void MapResponses(this IEndpointRouteBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.MapPost("/v1/responses", HandleAsync)
            .WithName("CreateResponse")
            .WithTags("OpenAI")
            .WithRequestSchema<CreateResponseRequest>()
            .WithDescription("Stateless: previous_response_id is refused, send the whole conversation as input items. With \"stream\": true the answer is text/event-stream: event: <type> and data: <event> pairs from response.created to response.completed (or response.incomplete, response.failed), no [DONE].")
            .Produces<Response>()
            .ProducesErrors(400, 404, 413, 429, 503);
    }

    private static Task HandleAsync(HttpContext context, ModelHost model, ServerOptions options, IHostApplicationLifetime lifetime, ILogger<RequestRecord> log)
        => GenerationEndpoint.RunAsync(context, "response", "resp_", model, lifetime, log, (body, header, cancellationToken) =>
        {
            var request = ResponsesRequestValidator.Validate(body, model, options, cancellationToken);
            return (request.Plan, new ResponsesMapper(header, request.Echo));
        });
}
