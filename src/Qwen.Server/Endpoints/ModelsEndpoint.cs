using Qwen.Server.Errors;
using Qwen.Server.Hosting;
using Qwen.Server.Protocol;

namespace Qwen.Server.Endpoints;

/// <summary>GET /v1/models and /v1/models/{id}.</summary>
public static class ModelsEndpoint
{
    /// <summary>Maps the routes.</summary>
    public static void MapModels(this IEndpointRouteBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.MapGet("/v1/models", (ModelHost model) => TypedResults.Json(new ModelList([Card(model)]), WireJson.Options)).WithName("ListModels").WithTags("OpenAI").Produces<ModelList>();
        app.MapGet("/v1/models/{id}", (string id, ModelHost model) => id == model.Name
            ? TypedResults.Json(Card(model), WireJson.Options)
            : throw new ApiException(404, $"The model '{id}' does not exist", "invalid_request_error", "model", "model_not_found")).WithName("RetrieveModel").WithTags("OpenAI").Produces<ModelCard>();
    }

    private static ModelCard Card(ModelHost model) => new(model.Name, model.Created, "qwen-server", model.Engine.MaxModelLen);
}
