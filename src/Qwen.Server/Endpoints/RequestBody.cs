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
            var document = await JsonDocument.ParseAsync(context.Request.Body, Options, context.RequestAborted).ConfigureAwait(false);
            try
            {
                CheckStrings(document.RootElement);
            }
            catch
            {
                document.Dispose();
                throw;
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

    // The parser accepts invalid UTF-8 and lone surrogate escapes inside strings; reading such a string later throws
    // InvalidOperationException (found by tests/Qwen.Server.Tests/Robustness/FuzzTests). Decode every string now so it is a 400.
    private static void CheckStrings(JsonElement element)
    {
        try
        {
            switch (element.ValueKind)
            {
                case JsonValueKind.String:
                    element.GetString();
                    break;
                case JsonValueKind.Array:
                    foreach (var item in element.EnumerateArray())
                    {
                        CheckStrings(item);
                    }
                    break;
                case JsonValueKind.Object:
                    foreach (var property in element.EnumerateObject())
                    {
                        _ = property.Name;
                        CheckStrings(property.Value);
                    }
                    break;
            }
        }
        catch (InvalidOperationException e)
        {
            throw ApiException.BadRequest($"the body holds text that is not valid Unicode ({e.Message})", null, "invalid_json");
        }
    }
}
