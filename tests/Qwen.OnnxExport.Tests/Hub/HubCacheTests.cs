using Qwen.OnnxExport.Hub;

namespace Qwen.OnnxExport.Tests.Hub;

/// <summary>The cache shared with huggingface_hub: a layout it made is reused as is, and HF_HUB_OFFLINE=1 makes no request at all.</summary>
public sealed class HubCacheTests : IAsyncLifetime
{
    private HubTestRepo _t = null!;

    public async Task InitializeAsync() => _t = await HubTestRepo.StartAsync();

    public async Task DisposeAsync() => await _t.DisposeAsync();

    private string Snapshot => Path.Combine(_t.RepoFolder, "snapshots", _t.Repo.Commit);

    [Fact]
    public async Task DownloadAsync_CacheLaidOutByHand_ReusedWithoutFileRequestsOrChanges()
    {
        _t.LayOutByHand();
        var before = Directory.GetFileSystemEntries(_t.RepoFolder, "*", SearchOption.AllDirectories)
            .ToDictionary(p => p, p => (new FileInfo(p).LinkTarget, File.GetLastWriteTimeUtc(p)));

        using var client = _t.Client();
        var snapshot = await client.DownloadAsync(await client.ResolveAsync(_t.Id));

        Assert.Equal(Snapshot, snapshot.Directory);
        Assert.Equal(0, snapshot.BytesDownloaded);
        Assert.Single(_t.Hub.Requests); // the revision info
        Assert.Empty(_t.FileRequests());
        var after = Directory.GetFileSystemEntries(_t.RepoFolder, "*", SearchOption.AllDirectories)
            .ToDictionary(p => p, p => (new FileInfo(p).LinkTarget, File.GetLastWriteTimeUtc(p)));
        Assert.Equal(before, after);
    }

    [Fact]
    public async Task DownloadAsync_HandLaidCacheLackingOneShard_FetchesThatShardOnly()
    {
        var shard = "model-00002-of-00002.safetensors";
        _t.LayOutByHand(HubTestRepo.NeededFiles().Where(n => n != shard));
        using var client = _t.Client();
        var snapshot = await client.DownloadAsync(await client.ResolveAsync(_t.Id));

        Assert.Equal(new FileInfo(Path.Combine(HubTestRepo.Files, shard)).Length, snapshot.BytesDownloaded);
        Assert.All(_t.FileRequests(), r => Assert.Contains(r.Path, new[] { $"/{HubTestRepo.RepoId}/resolve/{_t.Repo.Commit}/{shard}" }.Concat(_t.StorageRequests().Select(s => s.Path))));
        Assert.Equal("../../blobs/" + HubTestRepo.Etag(shard), new FileInfo(Path.Combine(snapshot.Directory, shard)).LinkTarget);
    }

    [Fact]
    public async Task Offline_AfterADownload_ZeroRequestsAndTheSameSnapshot()
    {
        HubSnapshot online;
        using (var client = _t.Client())
        {
            online = await client.DownloadAsync(await client.ResolveAsync(_t.Id));
        }
        _t.Hub.ClearRequests();

        using var offline = _t.Client(offline: true);
        var revision = await offline.ResolveAsync(_t.Id);
        var snapshot = await offline.DownloadAsync(revision);

        Assert.Empty(_t.Hub.Requests);
        Assert.Equal(_t.Repo.Commit, revision.Commit);
        Assert.Equal(online.Directory, snapshot.Directory);
        Assert.Equal(HubTestRepo.NeededFiles(), revision.Files.Select(f => f.Path).Order(StringComparer.Ordinal));
        Assert.All(revision.Files, f => Assert.Equal(new FileInfo(Path.Combine(HubTestRepo.Files, f.Path)).Length, f.Size));
        Assert.All(revision.Files.Where(f => HubTestRepo.IsLfs(f.Path)), f => Assert.Equal(HubTestRepo.Etag(f.Path), f.Sha256));
    }

    [Fact]
    public async Task Offline_HandLaidCacheAtACommit_ResolvesThatCommitWithoutRefs()
    {
        _t.LayOutByHand(HubTestRepo.NeededFiles());
        File.Delete(Path.Combine(_t.RepoFolder, "refs", "main"));
        using var offline = _t.Client(offline: true);
        var revision = await offline.ResolveAsync(new HubRepoId(HubTestRepo.RepoId, _t.Repo.Commit));
        Assert.Equal(_t.Repo.Commit, revision.Commit);
        Assert.Empty(_t.Hub.Requests);
    }

    [Fact]
    public async Task Offline_ColdCache_FailsNamingTheMissingRefAndTheCache()
    {
        using var offline = _t.Client(offline: true);
        var e = await Assert.ThrowsAsync<HubException>(() => offline.ResolveAsync(_t.Id));
        Assert.Equal($"HF_HUB_OFFLINE=1 and {HubTestRepo.RepoId} is not in the cache {_t.Cache}: missing {Path.Combine(_t.RepoFolder, "refs", "main")}", e.Message);
        Assert.Empty(_t.Hub.Requests);
    }

    [Fact]
    public async Task Offline_SnapshotLackingAShard_FailsNamingTheShard()
    {
        _t.LayOutByHand(HubTestRepo.NeededFiles().Where(n => n != "model-00002-of-00002.safetensors"));
        using var offline = _t.Client(offline: true);
        var e = await Assert.ThrowsAsync<HubException>(() => offline.ResolveAsync(_t.Id));
        Assert.Equal($"HF_HUB_OFFLINE=1 and {HubTestRepo.RepoId} is not in the cache {_t.Cache}: missing model-00002-of-00002.safetensors in {Snapshot}", e.Message);
        Assert.Empty(_t.Hub.Requests);
    }

    [Fact]
    public async Task Offline_BlobDeletedUnderItsLink_FailsNamingTheFile()
    {
        _t.LayOutByHand(HubTestRepo.NeededFiles());
        File.Delete(Path.Combine(_t.RepoFolder, "blobs", HubTestRepo.Etag("config.json")));
        using var offline = _t.Client(offline: true);
        var e = await Assert.ThrowsAsync<HubException>(() => offline.ResolveAsync(_t.Id));
        Assert.Contains("missing config.json (its blob)", e.Message, StringComparison.Ordinal);
    }
}
