using Microsoft.Extensions.Logging;

namespace Qwen.Server.Hosting;

/// <summary>
/// The one startup line an operator needs: what is served and how (model, precision, provider, threads, KV cache), who may
/// call it (auth) and where (the addresses as bound, Swagger UI, the playground). Logged once the server listens, since
/// only then are the addresses known (a port 0 resolved); one structured event, so JSON logs carry each part as a field.
/// </summary>
internal static class StartupSummary
{
    /// <summary>Where Swagger UI is served: Swashbuckle's default route prefix.</summary>
    public const string SwaggerPath = "/swagger";

    /// <summary>Logs the line for <paramref name="model"/> served with <paramref name="options"/> on the bound <paramref name="urls"/>.</summary>
    public static void Log(ILogger logger, ServerOptions options, ModelHost model, IReadOnlyCollection<string> urls)
    {
        ArgumentNullException.ThrowIfNull(logger);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(urls);
        var info = model.Engine.Info;
        var keys = options.ApiKeyList.Count;
        logger.LogInformation(
            "Serving {Model} ({Precision}) from {Directory}{Origin} on {ExecutionProvider} with {Threads} threads; KV cache {Slots} slots x {Tokens} tokens, {KvCacheMiB:F0} MiB; rope scaling {RopeScaling}; huge pages {HugePagesMiB:F0} MiB; " +
            "auth {Auth} ({ApiKeys} keys); listening on {Urls}; Swagger UI {SwaggerUrl} ({SwaggerAccess}); playground {PlaygroundUrl}",
            model.Name,
            info.Precision,
            model.Directory,
            model.OriginRepo is { } repo ? $" (exported from {repo} at commit {model.OriginCommit})" : "",
            info.ExecutionProvider,
            model.Engine.Options.ResolvedIntraOpThreads,
            info.Slots,
            info.MaxModelLen,
            info.KvCacheBytes / 1048576.0,
            model.RopeScaling?.ToString() ?? "none",
            info.HugePageBytes / 1048576.0,
            keys == 0 ? "off" : "on",
            keys,
            string.Join(", ", urls),
            BrowserUrl(urls, SwaggerPath),
            options.ProtectOperations ? "needs a key" : "open",
            options.Playground ? BrowserUrl(urls, "/") : "off");
    }

    /// <summary>
    /// <paramref name="path"/> on <paramref name="listeningUrl"/>: a wildcard host (Kestrel reports <c>http://+:8000</c> as
    /// <c>http://[::]:8000</c>) becomes localhost, so the address opens in a browser on the server's machine.
    /// </summary>
    public static string BrowserUrl(string listeningUrl, string path)
    {
        var uri = new UriBuilder(listeningUrl.Replace("://+:", "://localhost:", StringComparison.Ordinal).Replace("://*:", "://localhost:", StringComparison.Ordinal));
        if (uri.Host is "0.0.0.0" or "[::]" or "::")
        {
            uri.Host = "localhost";
        }
        uri.Path = path;
        return uri.Uri.AbsoluteUri;
    }

    private static string BrowserUrl(IReadOnlyCollection<string> urls, string path) => urls.Count == 0 ? path : BrowserUrl(urls.First(), path);
}
