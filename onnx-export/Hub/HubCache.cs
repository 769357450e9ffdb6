namespace Qwen.OnnxExport.Hub;

/// <summary>
/// One repo's folder in the Hugging Face hub cache, laid out exactly as huggingface_hub lays it out so that either tool
/// reuses the other's files:
/// <code>
/// &lt;cache&gt;/models--org--name/blobs/&lt;etag&gt;                 content; etag = LFS sha256, or git blob sha1 of a regular file
///                            blobs/&lt;etag&gt;.incomplete      a partial download
///                            refs/&lt;revision&gt;             the commit sha, no newline (branches and tags only)
///                            snapshots/&lt;commit&gt;/&lt;path&gt;   relative symlink to ../../blobs/&lt;etag&gt; (one more ../ per subfolder)
/// &lt;cache&gt;/.locks/models--org--name/&lt;etag&gt;.lock        per-blob lock (flock, as python's filelock takes it)
/// </code>
/// </summary>
internal sealed class HubCache(string cacheDirectory, HubRepoId repo)
{
    /// <summary>The cache root.</summary>
    public string Root { get; } = cacheDirectory;

    /// <summary>`&lt;cache&gt;/models--org--name`.</summary>
    public string RepoFolder { get; } = Path.Combine(cacheDirectory, repo.CacheFolderName);

    public string BlobPath(string etag) => Path.Combine(RepoFolder, "blobs", etag);

    public string IncompletePath(string etag) => BlobPath(etag) + ".incomplete";

    public string LockPath(string etag) => Path.Combine(Root, ".locks", repo.CacheFolderName, etag + ".lock");

    public string SnapshotFolder(string commit) => Path.Combine(RepoFolder, "snapshots", commit);

    public string RefPath(string revision) => Path.Combine(RepoFolder, "refs", revision);

    /// <summary>The commit that refs/&lt;revision&gt; holds, or null when there is no such ref.</summary>
    public string? ReadRef(string revision)
    {
        var path = RefPath(revision);
        return File.Exists(path) ? File.ReadAllText(path).Trim() : null;
    }

    /// <summary>Writes refs/&lt;revision&gt; = commit, without a newline (huggingface_hub's format), replacing it atomically.</summary>
    public void WriteRef(string revision, string commit)
    {
        if (ReadRef(revision) == commit)
        {
            return;
        }
        var path = RefPath(revision);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var temp = $"{path}.tmp-{Guid.NewGuid():N}";
        File.WriteAllText(temp, commit);
        File.Move(temp, path, overwrite: true);
    }

    /// <summary>The relative target huggingface_hub gives snapshots/&lt;commit&gt;/&lt;path&gt;: ../../blobs/&lt;etag&gt;, one more ../ per subfolder.</summary>
    public static string LinkTarget(string path, string etag)
        => string.Concat(Enumerable.Repeat("../", 2 + path.Count(c => c == '/'))) + "blobs/" + etag;

    /// <summary>Points snapshots/&lt;commit&gt;/&lt;path&gt; at blobs/&lt;etag&gt; with a relative symlink; an existing entry is replaced atomically.</summary>
    public void Link(string commit, string path, string etag)
    {
        var link = Path.Combine(SnapshotFolder(commit), path);
        var target = LinkTarget(path, etag);
        if (new FileInfo(link).LinkTarget == target)
        {
            return;
        }
        Directory.CreateDirectory(Path.GetDirectoryName(link)!);
        // A fresh link renamed over the old entry: another process linking the same file at once never sees it missing.
        var temp = $"{link}.tmp-{Guid.NewGuid():N}";
        File.CreateSymbolicLink(temp, target);
        File.Move(temp, link, overwrite: true);
    }
}
