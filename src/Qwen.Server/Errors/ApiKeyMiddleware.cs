using System.Security.Cryptography;
using System.Text;
using Qwen.Server.Hosting;

namespace Qwen.Server.Errors;

/// <summary>
/// When API keys are configured, /v1/*, /tokenize and /detokenize need <c>Authorization: Bearer &lt;key&gt;</c>, and with
/// ProtectOperations /metrics and /swagger too. Keys are compared as SHA-256 digests with a constant-time comparison, so
/// neither content nor length leaks through timing. /health and /health/ready stay open for probes, but /health/ready
/// shows its details only as <see cref="HasKey"/> allows. Without keys every route is open.
/// </summary>
public sealed class ApiKeyMiddleware(RequestDelegate next, ServerOptions options)
{
    private static readonly object HasKeyItem = new();

    private readonly byte[][] _digests = options.ApiKeyList.Select(k => SHA256.HashData(Encoding.UTF8.GetBytes(k))).ToArray();

    /// <summary>Whether the request was let in as a keyholder: a valid key was sent, or the server has no keys.</summary>
    public static bool HasKey(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return context.Items.TryGetValue(HasKeyItem, out var value) && value is true;
    }

    /// <summary>Whether a request to <paramref name="path"/> needs a key when keys are configured (the OpenAPI document's security says the same).</summary>
    public static bool Guards(PathString path, bool protectOperations)
        => path.StartsWithSegments("/v1") || path.StartsWithSegments("/tokenize") || path.StartsWithSegments("/detokenize")
            || (protectOperations && (path.StartsWithSegments("/metrics") || path.StartsWithSegments("/swagger")));

    /// <summary>Checks the key, then runs the rest of the pipeline.</summary>
    public Task InvokeAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var path = context.Request.Path;
        var guarded = Guards(path, options.ProtectOperations);
        if (_digests.Length == 0)
        {
            context.Items[HasKeyItem] = true;
            return next(context);
        }
        if (HttpMethods.IsOptions(context.Request.Method) || !(guarded || path.StartsWithSegments("/health/ready")))
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
        context.Items[HasKeyItem] = ok;
        if (ok || !guarded)
        {
            return next(context); // /health/ready answers everyone; what it shows depends on HasKey
        }
        throw ApiException.Unauthorized(missing: given.Length == 0);
    }
}
