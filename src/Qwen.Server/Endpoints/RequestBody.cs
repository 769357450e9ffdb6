using System.Text.Json;
using Qwen.Server.Errors;
using Qwen.Server.Validation;

namespace Qwen.Server.Endpoints;

/// <summary>Reads a request body as JSON: malformed JSON, invalid UTF-8 and excessive nesting are 400s, oversized bodies 413.</summary>
internal static class RequestBody
{
    private static readonly JsonDocumentOptions Options = new() { MaxDepth = 64 };

    public static async Task<JsonDocument> ReadAsync(HttpContext context)
    {
        try
        {
            var document = await JsonDocument.ParseAsync(context.Request.Body, Options, context.RequestAborted).ConfigureAwait(false);
            if (!JsonStrings.AreUnicode(document.RootElement))
            {
                document.Dispose();
                throw ApiException.BadRequest("the body holds text that is not valid Unicode (invalid UTF-8 or a lone surrogate escape)", null, "invalid_json");
            }
            return document;
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
