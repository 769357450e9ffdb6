using Qwen.OnnxExport;
using Qwen.OnnxExport.Hub;
using Qwen.Server.Hosting;

namespace Qwen.Server;

/// <summary>
/// Serves a Hugging Face repo id (<c>--model Qwen/Qwen2.5-7B-Instruct</c>): resolves the revision to a commit, reuses the
/// export cached for that commit, or downloads the checkpoint into the Hugging Face cache and exports it first, with its
/// progress in the log. Part of the composition root: it knows the exporter.
/// </summary>
internal static class HubModelLoader
{
    /// <summary>
    /// <see cref="ModelSources.FetchFromHub"/>: downloads and exports <see cref="ServerOptions.Model"/> when it is a repo id,
    /// with the Hub settings of the environment (HF_ENDPOINT, HF_TOKEN, HF_HUB_CACHE, HF_HUB_OFFLINE); null when it is not one.
    /// </summary>
    public static HubModel? Fetch(ServerOptions options, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(logger);
        if (!HubRepoId.TryParse(options.Model, out var repo))
        {
            return null;
        }
        var hub = HubSettings.FromEnvironment();
        var precision = RandomModelCache.ParsePrecision(options.ResolvedPrecision);
        // The layout follows the provider: on cuda every precision runs the CUDA layout; on the CPU int4 and fp32 have
        // their own, and fp16 exists only as the CUDA layout.
        var target = options.ExecutionProvider == "cuda" ? Target.Cuda : ExportOptions.DefaultTarget(precision);
        var cacheRoot = Path.GetFullPath(options.ModelCacheDir ?? ModelHost.DefaultCacheDir);
        using var client = new HubClient(hub);
        var revision = client.ResolveAsync(repo).GetAwaiter().GetResult();
        var dir = HubModelCache.DirectoryFor(cacheRoot, repo, revision.Commit, precision, target);
        if (File.Exists(Path.Combine(dir, "manifest.json")))
        {
            logger.LogInformation("{Repo} is commit {Commit}{Offline}; its {Precision} export is cached in {Directory}", repo.ToString(), revision.Commit, hub.Offline ? " (HF_HUB_OFFLINE: from the cache)" : "", options.ResolvedPrecision, dir);
            return new HubModel(dir, repo.Id);
        }
        logger.LogInformation(
            "{Repo} is commit {Commit}; first use: downloading {Files} files ({GB:F2} GB) into the Hugging Face cache {HubCache} where not there yet, then exporting at {Precision} for {Target} into {Directory}",
            repo.ToString(), revision.Commit, revision.Files.Count, revision.Files.Sum(f => f.Size) / 1e9, hub.CacheDirectory, options.ResolvedPrecision, target.ToString().ToLowerInvariant(), dir);
        var terminal = !options.JsonLogs && !Console.IsErrorRedirected;
        using var download = new ProgressLog<DownloadProgress>(logger, $"Downloading {repo}", p => (p.Done, p.Total), p => p.ToString(), terminal);
        using var export = new ProgressLog<ExportProgress>(logger, $"Exporting {repo}", p => (p.Done, p.Total), p => $"{p.Phase} {p.Fraction:P0} of {p.Total / 1e9:F2} GB", terminal);
        dir = HubModelCache.GetOrCreateAsync(
            client,
            revision,
            precision,
            target,
            cacheRoot,
            download,
            export,
            waiting: () => logger.LogInformation("Another process is exporting {Repo} into {Directory}; waiting for it", repo.ToString(), dir)).GetAwaiter().GetResult();
        return new HubModel(dir, repo.Id);
    }
}
