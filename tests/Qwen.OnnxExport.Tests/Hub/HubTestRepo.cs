using System.Security.Cryptography;
using System.Text;
using Qwen.FakeHub;
using Qwen.OnnxExport.Hub;
using Qwen.OnnxExport.Tests.Checkpoint;
using FakeHubServer = Qwen.FakeHub.FakeHub;

namespace Qwen.OnnxExport.Tests.Hub;

/// <summary>
/// The tiny preset in the exact file set of a real Qwen2.5 repo (written once per test run), served by a fresh fake Hub
/// per test with an empty cache; plus the tests' own naive versions of the Hub's digests and huggingface_hub's layout.
/// </summary>
internal sealed class HubTestRepo : IAsyncDisposable
{
    public const string RepoId = "Qwen/Qwen2.5-Tiny-Instruct";

    /// <summary>Files of a real repo the export does not read; the client must never request them.</summary>
    public static readonly string[] NotNeeded = [".gitattributes", "LICENSE", "README.md"];

    private static readonly Lazy<string> Written = new(() =>
    {
        var dir = Path.Combine(Path.GetTempPath(), $"qwen-hub-repo-tiny-{Environment.ProcessId}");
        if (Directory.Exists(dir))
        {
            Directory.Delete(dir, recursive: true);
        }
        QwenRepoFiles.Write("tiny", 7, dir, shards: 2);
        AppDomain.CurrentDomain.ProcessExit += (_, _) => Directory.Delete(dir, recursive: true);
        return dir;
    });

    private HubTestRepo(FakeHubServer hub, FakeRepo repo, string cache)
    {
        Hub = hub;
        Repo = repo;
        Cache = cache;
    }

    /// <summary>The repo's files on disk (what the fake serves).</summary>
    public static string Files => Written.Value;

    public FakeHubServer Hub { get; }

    public FakeRepo Repo { get; }

    /// <summary>An empty hub cache folder (not created).</summary>
    public string Cache { get; }

    public HubRepoId Id => new(RepoId, HubRepoId.DefaultRevision);

    public string RepoFolder => Path.Combine(Cache, "models--Qwen--Qwen2.5-Tiny-Instruct");

    public static async Task<HubTestRepo> StartAsync(bool gated = false)
    {
        var hub = await FakeHubServer.StartAsync();
        var repo = hub.AddRepo(RepoId, Files, gated);
        return new HubTestRepo(hub, repo, TestCheckpoint.Temp("hub-cache"));
    }

    public HubSettings Settings(string? token = null, bool offline = false) => new() { Endpoint = Hub.Endpoint, CacheDirectory = Cache, Token = token, Offline = offline };

    /// <summary>A client that retries at once and polls locks often (the waits are not what is tested).</summary>
    public HubClient Client(string? token = null, bool offline = false)
        => new(Settings(token, offline)) { RetryDelay = TimeSpan.Zero, LockPollInterval = TimeSpan.FromMilliseconds(20) };

    /// <summary>The files the export needs: the repo's root files less README, LICENSE and .gitattributes.</summary>
    public static IReadOnlyList<string> NeededFiles()
        => Directory.GetFiles(Files).Select(Path.GetFileName).Where(n => !NotNeeded.Contains(n)).Order(StringComparer.Ordinal).ToList()!;

    /// <summary>Files the fake treats as LFS by default, as real Qwen2.5 repos do.</summary>
    public static bool IsLfs(string path) => path.EndsWith(".safetensors", StringComparison.Ordinal) || path == "tokenizer.json";

    public static string Sha256(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }

    /// <summary>git's blob id: SHA-1 of "blob &lt;size&gt;\0" followed by the bytes.</summary>
    public static string GitBlobSha1(string path)
    {
        var bytes = File.ReadAllBytes(path);
#pragma warning disable CA5350 // git's object id
        return Convert.ToHexStringLower(SHA1.HashData([.. Encoding.ASCII.GetBytes($"blob {bytes.Length}\0"), .. bytes]));
#pragma warning restore CA5350
    }

    /// <summary>The cache blob name huggingface_hub gives a file: the LFS sha256, else the git blob sha1.</summary>
    public static string Etag(string name)
    {
        var path = Path.Combine(Files, name);
        return IsLfs(name) ? Sha256(path) : GitBlobSha1(path);
    }

    /// <summary>
    /// Lays the repo out in the cache by hand as huggingface_hub does (blobs/&lt;etag&gt;, refs/main without newline,
    /// snapshots/&lt;commit&gt;/&lt;file&gt; -> ../../blobs/&lt;etag&gt;), independently of the client's code.
    /// </summary>
    public void LayOutByHand(IEnumerable<string>? names = null)
    {
        Directory.CreateDirectory(Path.Combine(RepoFolder, "blobs"));
        Directory.CreateDirectory(Path.Combine(RepoFolder, "refs"));
        var snapshot = Path.Combine(RepoFolder, "snapshots", Repo.Commit);
        Directory.CreateDirectory(snapshot);
        File.WriteAllText(Path.Combine(RepoFolder, "refs", "main"), Repo.Commit);
        foreach (var name in names ?? Directory.GetFiles(Files).Select(f => Path.GetFileName(f)!))
        {
            var etag = Etag(name);
            File.Copy(Path.Combine(Files, name), Path.Combine(RepoFolder, "blobs", etag), overwrite: true);
            File.CreateSymbolicLink(Path.Combine(snapshot, name), "../../blobs/" + etag);
        }
    }

    /// <summary>Requests for files (resolve and storage), i.e. everything but the API.</summary>
    public IReadOnlyList<FakeHubRequest> FileRequests() => Hub.Requests.Where(r => !r.Path.StartsWith("/api/", StringComparison.Ordinal)).ToList();

    /// <summary>Requests to the storage a resolve redirects to (neither API nor resolve).</summary>
    public IReadOnlyList<FakeHubRequest> StorageRequests() => FileRequests().Where(r => !r.Path.Contains("/resolve/", StringComparison.Ordinal)).ToList();

    public async ValueTask DisposeAsync()
    {
        await Hub.DisposeAsync();
        if (Directory.Exists(Cache))
        {
            Directory.Delete(Cache, recursive: true);
        }
    }
}
