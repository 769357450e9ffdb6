using System.Security.Cryptography;
using System.Text;
using Qwen.Server.Hosting;

namespace Qwen.Server.Errors;

/// <summary>
/// When API keys are configured, /v1/*, /tokenize and /detokenize need <c>Authorization: Bearer &lt;key&gt;</c>. Keys are
/// compared as SHA-256 digests with a constant-time comparison, so neither content nor length leaks through timing.
/// Health, metrics and the API docs stay open (probes and scrapers).
/// </summary>
public sealed class ApiKeyMiddleware(RequestDelegate next, ServerOptions options)
{
    private readonly byte[][] _digests = options.ApiKeyList.Select(k => SHA256.HashData(Encoding.UTF8.GetBytes(k))).ToArray();

    /// <summary>Checks the key, then runs the rest of the pipeline.</summary>
    public Task InvokeAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var path = context.Request.Path;
        var guarded = path.StartsWithSegments("/v1") || path.StartsWithSegments("/tokenize") || path.StartsWithSegments("/detokenize");
        if (_digests.Length == 0 || !guarded || HttpMethods.IsOptions(context.Request.Method))
        {
            return next(context);
        }
        var header = context.Request.Headers.Authorization.ToString();
        var given = header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? header["Bearer ".Length..].Trim() : "";
        var digest = SHA256.HashData(Encoding.UTF8.GetBytes(given));
        var ok = false;
        foreach (var d in _digests)
        {
            ok |= CryptographicOperations.FixedTimeEquals(d, digest);
        }
        if (ok)
        {
            return next(context);
        }
        throw ApiException.Unauthorized(missing: given.Length == 0);
    }
}
