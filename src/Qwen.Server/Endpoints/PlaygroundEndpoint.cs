using System.Collections.Frozen;
using System.Security.Cryptography;
using Microsoft.Net.Http.Headers;

namespace Qwen.Server.Endpoints;

/// <summary>
/// The chat playground: GET / is its page and /playground/{file} its script and style, all embedded in this assembly
/// (src/Qwen.Server/Playground), so the server needs no web root and the page no build step or CDN. The page is a plain
/// client of the public API (/v1/models, /v1/chat/completions, /tokenize, /detokenize); it is open even with API keys,
/// since it holds no data and asks for the key itself.
/// </summary>
public static class PlaygroundEndpoint
{
    // The page loads nothing from elsewhere and is framed by no one; inline script and style are refused too.
    private const string Policy = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

    private static readonly FrozenDictionary<string, Asset> Assets = Load();

    /// <summary>Maps the routes.</summary>
    public static void MapPlayground(this IEndpointRouteBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        // HEAD too, for uptime checks that probe the front page; Kestrel sends no body for it.
        string[] methods = [HttpMethods.Get, HttpMethods.Head];
        app.MapMethods("/", methods, (HttpContext context) => Serve(context, "index.html")).ExcludeFromDescription();
        // Unknown names fall through to the route's 404, the same JSON error as any unknown route.
        app.MapMethods("/playground/{file}", methods, (HttpContext context, string file) => Serve(context, file)).ExcludeFromDescription();
    }

    private static IResult Serve(HttpContext context, string file)
    {
        if (!Assets.TryGetValue(file, out var asset))
        {
            throw Errors.ApiException.UnknownRoute(context.Request.Method, context.Request.Path);
        }
        var headers = context.Response.Headers;
        // no-cache: revalidate every load, so a new server version's page is never mixed with an old script.
        headers.CacheControl = "no-cache";
        headers.ContentSecurityPolicy = Policy;
        headers.XContentTypeOptions = "nosniff";
        headers.ETag = asset.ETag;
        return context.Request.Headers.IfNoneMatch.ToString() == asset.ETag
            ? TypedResults.StatusCode(StatusCodes.Status304NotModified)
            : TypedResults.Bytes(asset.Bytes, asset.ContentType);
    }

    private static FrozenDictionary<string, Asset> Load()
    {
        const string Prefix = "Playground/";
        var assembly = typeof(PlaygroundEndpoint).Assembly;
        var assets = new Dictionary<string, Asset>(StringComparer.Ordinal);
        foreach (var name in assembly.GetManifestResourceNames().Where(n => n.StartsWith(Prefix, StringComparison.Ordinal)))
        {
            using var stream = assembly.GetManifestResourceStream(name)!;
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            var bytes = copy.ToArray();
            var type = Path.GetExtension(name) switch
            {
                ".html" => "text/html; charset=utf-8",
                ".css" => "text/css; charset=utf-8",
                ".js" => "text/javascript; charset=utf-8",
                ".svg" => "image/svg+xml",
                _ => "application/octet-stream",
            };
            assets[name[Prefix.Length..]] = new Asset(bytes, type, new EntityTagHeaderValue($"\"{Convert.ToHexStringLower(SHA256.HashData(bytes))[..16]}\"").ToString());
        }
        return assets.ToFrozenDictionary(StringComparer.Ordinal);
    }

    private sealed record Asset(byte[] Bytes, string ContentType, string ETag);
}
