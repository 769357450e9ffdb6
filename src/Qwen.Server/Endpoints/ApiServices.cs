using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.OpenApi;
using Qwen.Server.Hosting;
using Qwen.Server.Protocol;
using Swashbuckle.AspNetCore.SwaggerGen;

namespace Qwen.Server.Endpoints;

/// <summary>
/// Services of the HTTP API: the wire JSON settings for minimal-API binding and the OpenAPI document (so the document's
/// schemas use the snake_case names the server really sends), and a request example per POST that works as sent from
/// Swagger UI's "Try it out" (it names the served model).
/// </summary>
public static class ApiServices
{
    /// <summary>Registers the API's JSON and OpenAPI settings; call next to AddSwaggerGen.</summary>
    public static IServiceCollection AddQwenApi(this IServiceCollection services)
    {
        services.ConfigureHttpJsonOptions(o => WireJson.Apply(o.SerializerOptions));
        services.Configure<SwaggerGenOptions>(s =>
        {
            s.OperationFilter<RequestExamples>();
            var xml = Path.Combine(AppContext.BaseDirectory, "Qwen.Server.xml");
            if (File.Exists(xml))
            {
                s.IncludeXmlComments(xml);
            }
        });
        return services;
    }

    /// <summary>Sets each POST's request example: a small valid request for the served model.</summary>
    private sealed class RequestExamples(ModelHost model) : IOperationFilter
    {
        public void Apply(OpenApiOperation operation, OperationFilterContext context)
        {
            object? example = context.ApiDescription.RelativePath switch
            {
                "v1/chat/completions" => new { model = model.Name, messages = new[] { new { role = "user", content = "Hello! Who are you?" } }, max_tokens = 32 },
                "v1/completions" => new { model = model.Name, prompt = "The capital of France is", max_tokens = 16 },
                "tokenize" => new { prompt = "Hello, world" },
                "detokenize" => new { tokens = model.Tokenizer.Encode("Hello, world") },
                _ => null,
            };
            if (example is not null && operation.RequestBody?.Content is { } content && content.TryGetValue("application/json", out var media) && media is OpenApiMediaType concrete)
            {
                concrete.Example = JsonSerializer.SerializeToNode(example);
            }
        }
    }
}
