using Microsoft.OpenApi;
using Qwen.Server.Errors;
using Qwen.Server.Hosting;
using Qwen.Server.Protocol;
using Swashbuckle.AspNetCore.SwaggerGen;

namespace Qwen.Server.Endpoints;

/// <summary>
/// With API keys configured, the document declares the HTTP bearer scheme (Swagger UI's Authorize button), requires it on
/// the routes <see cref="ApiKeyMiddleware.Guards"/> names, with their 401, and makes it optional on /health/ready (a key
/// shows the details). Without keys it declares none, since every route is open: the document says what the server does.
/// </summary>
internal sealed class ApiKeySecurity(ServerOptions options) : IDocumentFilter
{
    private const string Scheme = "bearer";

    /// <summary>Adds the scheme and the requirements when keys are configured.</summary>
    public void Apply(OpenApiDocument document, DocumentFilterContext context)
    {
        if (options.ApiKeyList.Count == 0)
        {
            return;
        }
        document.AddComponent<IOpenApiSecurityScheme>(Scheme, new OpenApiSecurityScheme
        {
            Type = SecuritySchemeType.Http,
            Scheme = "bearer",
            Description = "One of the server's API keys (--api-keys), sent as Authorization: Bearer <key>.",
        });
        var key = new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(Scheme, document)] = [] };
        var error = context.SchemaGenerator.GenerateSchema(typeof(ErrorResponse), context.SchemaRepository);
        foreach (var (path, item) in document.Paths)
        {
            foreach (var operation in item.Operations?.Values ?? Enumerable.Empty<OpenApiOperation>())
            {
                if (ApiKeyMiddleware.Guards(path, options.ProtectOperations))
                {
                    operation.Security = [key];
                    operation.Responses ??= [];
                    operation.Responses["401"] = new OpenApiResponse
                    {
                        Description = "Unauthorized: no key, or not one of the server's keys",
                        Content = new Dictionary<string, IOpenApiMediaType> { ["application/json"] = new OpenApiMediaType { Schema = error } },
                    };
                }
                else if (path == "/health/ready")
                {
                    operation.Security = [new OpenApiSecurityRequirement(), key]; // open to probes; a key shows the details
                }
            }
        }
    }
}
