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
            .ProducesEventStream(
                "each event is event: <type>, then data: <event JSON> and a blank line, from response.created (sequence_number 0) to response.completed, response.incomplete or response.failed (an error after the stream began); there is no [DONE]. Lines starting with a colon are keep-alive comments.",
                (typeof(ResponseStatusEvent), ["response.created", "response.in_progress", "response.completed", "response.incomplete", "response.failed"]),
                (typeof(ResponseOutputItemEvent), ["response.output_item.added", "response.output_item.done"]),
                (typeof(ResponseContentPartEvent), ["response.content_part.added", "response.content_part.done"]),
                (typeof(ResponseTextDeltaEvent), ["response.output_text.delta"]),
                (typeof(ResponseTextDoneEvent), ["response.output_text.done"]),
                (typeof(ResponseFunctionCallArgumentsDeltaEvent), ["response.function_call_arguments.delta"]),
                (typeof(ResponseFunctionCallArgumentsDoneEvent), ["response.function_call_arguments.done"]))
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
