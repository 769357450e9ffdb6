using System.Text.Json;
using Qwen.Server.Errors;

namespace Qwen.Server.Endpoints;

/// <summary>Reads a request body as JSON: malformed JSON, invalid UTF-8 and excessive nesting are 400s, oversized bodies 413.</summary>
internal static class RequestBody
{
    private static readonly JsonDocumentOptions Options = new() { MaxDepth = 64 };

    public static async Task<JsonDocument> ReadAsync(HttpContext context)
    {
        try
        {
            return await JsonDocument.ParseAsync(context.Request.Body, Options, context.RequestAborted).ConfigureAwait(false);
        }
        catch (JsonException e)
        {
            throw ApiException.BadRequest($"the body is not valid JSON ({e.Message})", null, "invalid_json");
        }
        catch (ArgumentException e)
        {
            throw ApiException.BadRequest($"the body is not valid JSON ({e.Message})", null, "invalid_json");
        }
    }
}
