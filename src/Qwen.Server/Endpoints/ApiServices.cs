using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.OpenApi;
using Qwen.Server.Hosting;
using Qwen.Server.Protocol;
using Swashbuckle.AspNetCore.SwaggerGen;

namespace Qwen.Server.Endpoints;

/// <summary>
/// Services of the HTTP API: the wire JSON settings for minimal-API binding and the OpenAPI document (so the document's
/// schemas use the snake_case names the server really sends), and each POST's request body in the document: its schema
/// (<see cref="WithRequestSchema{T}"/>) and an example that works as sent from Swagger UI's "Try it out". The examples
/// leave out "model" (the server then uses the served one): the document is open, and the model id is /v1/models' to tell.
/// </summary>
public static class ApiServices
{
    /// <summary>Registers the API's JSON and OpenAPI settings; call next to AddSwaggerGen.</summary>
    public static IServiceCollection AddQwenApi(this IServiceCollection services)
    {
        services.ConfigureHttpJsonOptions(o => WireJson.Apply(o.SerializerOptions));
        services.AddSingleton<SseKeepAlive>();
        services.AddSingleton<PromptWorkLimiter>();
        services.Configure<SwaggerGenOptions>(s =>
        {
            s.OperationFilter<RequestExamples>();
            s.OperationFilter<EventStreamResponses>();
            s.SchemaFilter<WireFieldSchemas>();
            s.DocumentFilter<OpenRequestSchemas>();
            s.DocumentFilter<ApiKeySecurity>();
            // A response field that may be null and holds an object is {"allOf": [$ref], "nullable": true}: OpenAPI 3.0
            // cannot mark a bare $ref nullable. (Not UseOneOfForPolymorphism: it derives each subtype's schema from its
            // base's with allOf, which with additionalProperties false on both no object satisfies.)
            s.UseAllOfToExtendReferenceSchemas();
            s.SupportNonNullableReferenceTypes();
            var xml = Path.Combine(AppContext.BaseDirectory, "Qwen.Server.xml");
            if (File.Exists(xml))
            {
                s.IncludeXmlComments(xml);
            }
        });
        return services;
    }

    /// <summary>
    /// Documents the endpoint's JSON request body as <typeparamref name="T"/>. Unlike Accepts&lt;T&gt;() it adds no
    /// content-type matching to routing: the body is read as JSON whatever its Content-Type says, as clients expect.
    /// </summary>
    public static RouteHandlerBuilder WithRequestSchema<T>(this RouteHandlerBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.WithMetadata(new RequestSchema(typeof(T)));
    }

    /// <summary>Documents the OpenAI error body for each of <paramref name="statuses"/>.</summary>
    public static RouteHandlerBuilder ProducesErrors(this RouteHandlerBuilder builder, params int[] statuses)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(statuses);
        foreach (var status in statuses)
        {
            builder.Produces<ErrorResponse>(status);
        }
        return builder;
    }

    /// <summary>
    /// Documents the route's <c>"stream": true</c> answer: text/event-stream events whose payloads are <paramref name="events"/>
    /// (with the event names each carries, when the stream names its events), written as <paramref name="framing"/> says.
    /// </summary>
    internal static RouteHandlerBuilder ProducesEventStream(this RouteHandlerBuilder builder, string framing, params (Type Payload, string[] Names)[] events)
        => builder.WithMetadata(new EventStream(framing, events));

    /// <summary>
    /// <see cref="ProducesEventStream"/> for a route that streams OpenAI's plain data events: each a <typeparamref name="T"/>
    /// (written as <paramref name="name"/>), then [DONE]; an error after the stream began is one error body.
    /// </summary>
    internal static RouteHandlerBuilder ProducesDataEvents<T>(this RouteHandlerBuilder builder, string name)
        => builder.ProducesEventStream(
            $"each event is data: <{name} JSON> and a blank line; the last is data: [DONE]. An error after the stream began is one data: <error body> event, then data: [DONE]. Lines starting with a colon are keep-alive comments.",
            (typeof(T), []), (typeof(ErrorResponse), []));

    private sealed record RequestSchema(Type Type);

    /// <summary>Sets each POST's request body: the schema of its request record and a small valid request for the served model (without its id).</summary>
    private sealed class RequestExamples(ModelHost model) : IOperationFilter
    {
        public void Apply(OpenApiOperation operation, OperationFilterContext context)
        {
            if (context.ApiDescription.ActionDescriptor.EndpointMetadata.OfType<RequestSchema>().FirstOrDefault() is not { } body)
            {
                return;
            }
            object? example = context.ApiDescription.RelativePath switch
            {
                "v1/chat/completions" => new { messages = new[] { new { role = "user", content = "Hello! Who are you?" } }, max_tokens = 32 },
                "v1/completions" => new { prompt = "The capital of France is", max_tokens = 16 },
                "v1/responses" => new { input = "Hello! Who are you?", max_output_tokens = 32 },
                "tokenize" => new { prompt = "Hello, world" },
                "detokenize" => new { tokens = model.Tokenizer.Encode("Hello, world") },
                _ => null,
            };
            var media = new OpenApiMediaType
            {
                Schema = context.SchemaGenerator.GenerateSchema(body.Type, context.SchemaRepository),
                Example = example is null ? null : JsonSerializer.SerializeToNode(example),
            };
            operation.RequestBody = new OpenApiRequestBody { Required = true, Content = new Dictionary<string, IOpenApiMediaType> { ["application/json"] = media } };
        }
    }
}
