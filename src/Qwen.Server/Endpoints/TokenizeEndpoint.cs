using System.Text.Json;
using Qwen.Server.Errors;
using Qwen.Server.Hosting;
using Qwen.Server.Protocol;
using Qwen.Server.Validation;

namespace Qwen.Server.Endpoints;

/// <summary>POST /tokenize and /detokenize in vLLM's shapes.</summary>
public static class TokenizeEndpoint
{
    /// <summary>Maps the routes.</summary>
    public static void MapTokenize(this IEndpointRouteBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.MapPost("/tokenize", TokenizeAsync).WithName("Tokenize").WithTags("Extensions").Produces<TokenizeResponse>();
        app.MapPost("/detokenize", DetokenizeAsync).WithName("Detokenize").WithTags("Extensions").Produces<DetokenizeResponse>();
    }

    private static async Task<IResult> TokenizeAsync(HttpContext context, ModelHost model)
    {
        using var body = await RequestBody.ReadAsync(context).ConfigureAwait(false);
        var root = body.RootElement;
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw ApiException.BadRequest("the request body must be a JSON object");
        }
        string text;
        if (JsonFields.String(root, "prompt") is { } prompt)
        {
            text = prompt;
        }
        else if (root.TryGetProperty("messages", out var messages))
        {
            JsonElement? tools = root.TryGetProperty("tools", out var t) && t.ValueKind != JsonValueKind.Null ? t : null;
            text = model.Template.Render(messages, tools, JsonFields.Bool(root, "add_generation_prompt") ?? true);
        }
        else
        {
            throw ApiException.BadRequest("give 'prompt' or 'messages'", "prompt");
        }
        var ids = model.Tokenizer.Encode(text);
        return TypedResults.Json(new TokenizeResponse(ids, ids.Length, model.Engine.MaxModelLen), WireJson.Options);
    }

    private static async Task<IResult> DetokenizeAsync(HttpContext context, ModelHost model)
    {
        using var body = await RequestBody.ReadAsync(context).ConfigureAwait(false);
        var root = body.RootElement;
        if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("tokens", out var tokens) || tokens.ValueKind != JsonValueKind.Array)
        {
            throw ApiException.BadRequest("'tokens' must be an array of token ids", "tokens");
        }
        var ids = tokens.EnumerateArray().Select(e => e.ValueKind == JsonValueKind.Number && e.TryGetInt32(out var id) && id >= 0 && id < model.Tokenizer.TokenCount
            ? id
            : throw ApiException.BadRequest($"'tokens' must hold token ids in [0, {model.Tokenizer.TokenCount})", "tokens")).ToArray();
        return TypedResults.Json(new DetokenizeResponse(model.Tokenizer.Decode(ids)), WireJson.Options);
    }
}
