using System.Text.Json.Nodes;
using Microsoft.OpenApi;
using Swashbuckle.AspNetCore.SwaggerGen;

namespace Qwen.Server.Endpoints;

/// <summary>
/// Documents a streaming route's <c>"stream": true</c> answer as the <c>text/event-stream</c> content of its 200 response,
/// whose schema is one event's JSON (ApiExplorer keeps one type per status, so the stream cannot be a second Produces).
/// OpenAPI has no words for the framing, so the response's description states it (<see cref="EventStream.Framing"/>).
/// </summary>
internal sealed class EventStreamResponses : IOperationFilter
{
    /// <summary>Adds the text/event-stream content to the operation's 200 response.</summary>
    public void Apply(OpenApiOperation operation, OperationFilterContext context)
    {
        if (context.ApiDescription.ActionDescriptor.EndpointMetadata.OfType<EventStream>().FirstOrDefault() is not { } stream
            || operation.Responses?.GetValueOrDefault("200") is not OpenApiResponse ok)
        {
            return;
        }
        var schemas = new List<IOpenApiSchema>();
        var mapping = new Dictionary<string, OpenApiSchemaReference>();
        foreach (var (payload, names) in stream.Events)
        {
            var schema = context.SchemaGenerator.GenerateSchema(payload, context.SchemaRepository);
            schemas.Add(schema);
            // The event's type lists the event names it carries, so a client (and a validator) can tell the payloads apart.
            if (names.Length > 0 && schema is OpenApiSchemaReference { Reference.Id: { } id }
                && context.SchemaRepository.Schemas.GetValueOrDefault(id) is OpenApiSchema { Properties: { } properties }
                && properties.TryGetValue("type", out var t) && t is OpenApiSchema type)
            {
                type.Enum = [.. names.Select(n => (JsonNode)JsonValue.Create(n))];
                foreach (var name in names)
                {
                    mapping[name] = (OpenApiSchemaReference)schema;
                }
            }
        }
        ok.Content ??= new Dictionary<string, IOpenApiMediaType>();
        ok.Content["text/event-stream"] = new OpenApiMediaType
        {
            Schema = schemas.Count == 1 ? schemas[0] : new OpenApiSchema
            {
                OneOf = schemas,
                Discriminator = mapping.Count == 0 ? null : new OpenApiDiscriminator { PropertyName = "type", Mapping = mapping },
            }
        };
        ok.Description = $"OK: application/json; with \"stream\": true, text/event-stream: {stream.Framing}";
    }
}
