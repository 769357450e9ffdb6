using Qwen.Server.Errors;
using Qwen.Server.Hosting;
using Qwen.Server.Protocol;

namespace Qwen.Server.Endpoints;

/// <summary>GET /v1/models and /v1/models/{id}; ids may contain '/' (Qwen/Qwen2.5-0.5B-Instruct), sent raw or as %2F.</summary>
public static class ModelsEndpoint
{
    /// <summary>Maps the routes.</summary>
    public static void MapModels(this IEndpointRouteBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.MapGet("/v1/models", (ModelHost model) => TypedResults.Json(new ModelList([Card(model)]), WireJson.Options))
            .WithName("ListModels").WithTags("OpenAI").Produces<ModelList>();
        // A catch-all parameter, so an id with '/' matches; routing leaves %2F encoded, hence the unescape.
        app.MapGet("/v1/models/{**id}", (string id, ModelHost model) => Uri.UnescapeDataString(id) is var name && name == model.Name
                ? TypedResults.Json(Card(model), WireJson.Options)
                : throw ApiException.ModelNotFound(name, model.Name))
            .WithName("RetrieveModel").WithTags("OpenAI").Produces<ModelCard>().ProducesErrors(404);
    }

    private static ModelCard Card(ModelHost model) => new()
    {
        Id = model.Name,
        Created = model.Created,
        OwnedBy = "qwen-server",
        Root = model.OriginRepo ?? model.Name,
        Revision = model.OriginCommit,
        MaxModelLen = model.Engine.MaxModelLen,
        GenerationConfig = new(model.Defaults.Temperature, model.Defaults.TopP, model.Defaults.TopK, model.Defaults.RepetitionPenalty, model.Defaults.MaxNewTokens),
        RandomWeights = model.RandomPreset,
    };
}
