using Microsoft.OpenApi;
using Swashbuckle.AspNetCore.SwaggerGen;

namespace Qwen.Server.Endpoints;

/// <summary>
/// Drops <c>additionalProperties: false</c> from every schema a request body reaches: the server ignores fields it does
/// not know (as OpenAI's API does), so a document that refused them would make validating clients and proxies reject
/// requests the server takes. Response schemas keep it: the server sends exactly their properties.
/// </summary>
internal sealed class OpenRequestSchemas : IDocumentFilter
{
    /// <summary>Walks each request body's schema, through references, and opens each object schema on the way.</summary>
    public void Apply(OpenApiDocument document, DocumentFilterContext context)
    {
        var components = context.SchemaRepository.Schemas;
        var seen = new HashSet<string>();
        var bodies = document.Paths.Values.SelectMany(p => p.Operations?.Values ?? Enumerable.Empty<OpenApiOperation>())
            .SelectMany(o => o.RequestBody?.Content?.Values ?? []).Select(m => m.Schema);
        var pending = new Stack<IOpenApiSchema?>(bodies);
        while (pending.TryPop(out var schema))
        {
            if (schema is OpenApiSchemaReference { Reference.Id: { } id })
            {
                if (seen.Add(id))
                {
                    pending.Push(components.GetValueOrDefault(id));
                }
                continue;
            }
            if (schema is not OpenApiSchema s)
            {
                continue;
            }
            if (!s.AdditionalPropertiesAllowed)
            {
                s.AdditionalPropertiesAllowed = true;
            }
            foreach (var child in (s.Properties?.Values ?? []).Concat(s.OneOf ?? []).Concat(s.AnyOf ?? []).Concat(s.AllOf ?? []).Append(s.Items).Append(s.AdditionalProperties))
            {
                pending.Push(child);
            }
        }
    }
}
