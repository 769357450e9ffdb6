using Qwen.OnnxExport.Hub;

namespace Qwen.OnnxExport;

/// <summary>
/// Exports of Hugging Face checkpoints, made on first use and kept by commit, precision, target and exporter version, so a
/// restart on the same commit serves at once. Safe across processes: one build per model at a time under a file lock,
/// which a second process waits for and then reuses; the download underneath has its own per-file locks.
/// </summary>
public static class HubModelCache
{
    /// <summary>
    /// Where the export of <paramref name="repo"/> at <paramref name="commit"/> is (or will be) cached:
    /// <c>&lt;root&gt;/hub/&lt;org&gt;--&lt;name&gt;/&lt;commit&gt;-&lt;precision&gt;[-&lt;target&gt;]-v&lt;version&gt;</c>, the target named only
    /// when it is not the precision's own (<see cref="ExportOptions.DefaultTarget"/>).
    /// </summary>
    public static string DirectoryFor(string cacheRoot, HubRepoId repo, string commit, Precision precision, Target target)
    {
        ArgumentNullException.ThrowIfNull(cacheRoot);
        ArgumentNullException.ThrowIfNull(repo);
        var suffix = target == ExportOptions.DefaultTarget(precision) ? "" : $"-{target.ToString().ToLowerInvariant()}";
        var folder = repo.Id.Replace("/", "--", StringComparison.Ordinal);
        return Path.Combine(Path.GetFullPath(cacheRoot), "hub", folder, $"{commit}-{precision.ToString().ToLowerInvariant()}{suffix}-v{RandomModelCache.CacheVersion}");
    }

    /// <summary>
    /// Returns the export of <paramref name="revision"/> at <paramref name="precision"/> for <paramref name="target"/>, downloading
    /// the checkpoint (<see cref="HubClient.DownloadAsync"/>) and exporting it when it is not cached yet.
    /// <paramref name="waiting"/> hears when another process holds the build and this call waits for it.
    /// </summary>
    public static async Task<string> GetOrCreateAsync(
        HubClient client,
        HubRevision revision,
        Precision precision,
        Target target,
        string cacheRoot,
        IProgress<DownloadProgress>? download = null,
        IProgress<ExportProgress>? export = null,
        Action? waiting = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(revision);
        var dir = DirectoryFor(cacheRoot, revision.Repo, revision.Commit, precision, target);
        if (File.Exists(Path.Combine(dir, "manifest.json")))
        {
            return dir;
        }
        Directory.CreateDirectory(Path.GetDirectoryName(dir)!);
        using var gate = ExportCache.AcquireLock(dir, waiting);
        if (File.Exists(Path.Combine(dir, "manifest.json")))
        {
            return dir; // the process we waited for built it
        }
        ExportCache.RemoveAbandoned(dir);
        var snapshot = await client.DownloadAsync(revision, download, cancellationToken).ConfigureAwait(false);
        cancellationToken.ThrowIfCancellationRequested();
        ModelExporter.Export(
            new ExportOptions
            {
                InputDirectory = snapshot.Directory,
                Origin = new CheckpointOrigin(revision.Repo.Id, revision.Repo.Revision, revision.Commit),
                OutputDirectory = dir,
                Precision = precision,
                Target = target,
                Force = true,
            },
            export);
        return dir;
    }
}
