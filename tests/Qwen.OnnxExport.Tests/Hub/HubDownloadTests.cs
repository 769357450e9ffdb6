using Qwen.OnnxExport.Hub;
using Qwen.OnnxExport.Tests.Checkpoint;

namespace Qwen.OnnxExport.Tests.Hub;

/// <summary>Downloading into the cache from the fake Hub: resume, retries, verification, disk space, concurrency, tokens.</summary>
public sealed class HubDownloadTests : IAsyncLifetime
{
    private const string Shard = "model-00001-of-00002.safetensors";

    private readonly TestDirectories _dirs = new();
    private HubTestRepo _t = null!;

    public async Task InitializeAsync() => _t = await HubTestRepo.StartAsync();

    public async Task DisposeAsync()
    {
        await _t.DisposeAsync();
        _dirs.Dispose();
    }

    private string Blob(string name) => Path.Combine(_t.RepoFolder, "blobs", HubTestRepo.Etag(name));

    private static long SizeOf(string name) => new FileInfo(Path.Combine(HubTestRepo.Files, name)).Length;

    private async Task<HubSnapshot> DownloadAsync(HubClient client, IProgress<DownloadProgress>? progress = null)
        => await client.DownloadAsync(await client.ResolveAsync(_t.Id), progress);

    /// <summary>Every needed file is in the snapshot, byte-identical to the source, as a link huggingface_hub would make.</summary>
    private void AssertSnapshotComplete(HubSnapshot snapshot)
    {
        Assert.Equal(Path.Combine(_t.RepoFolder, "snapshots", _t.Repo.Commit), snapshot.Directory);
        foreach (var name in HubTestRepo.NeededFiles())
        {
            var link = new FileInfo(Path.Combine(snapshot.Directory, name));
            Assert.Equal("../../blobs/" + HubTestRepo.Etag(name), link.LinkTarget);
            Assert.Equal(File.ReadAllBytes(Path.Combine(HubTestRepo.Files, name)), File.ReadAllBytes(link.FullName));
        }
        Assert.All(HubTestRepo.NotNeeded, n => Assert.False(File.Exists(Path.Combine(snapshot.Directory, n))));
        Assert.Equal(_t.Repo.Commit, File.ReadAllText(Path.Combine(_t.RepoFolder, "refs", "main")));
        Assert.Empty(Directory.GetFiles(Path.Combine(_t.RepoFolder, "blobs"), "*.incomplete"));
    }

    [Fact]
    public async Task DownloadAsync_EmptyCache_LaysOutTheSnapshotAndExportsLikeTheSource()
    {
        using var client = _t.Client();
        var progress = new List<DownloadProgress>();
        var snapshot = await DownloadAsync(client, new SyncProgress<DownloadProgress>(progress.Add));

        AssertSnapshotComplete(snapshot);
        var total = HubTestRepo.NeededFiles().Sum(SizeOf);
        Assert.Equal(total, snapshot.BytesDownloaded);
        Assert.Equal(total, progress[^1].Done);
        Assert.All(progress, p => Assert.Equal(total, p.Total));
        Assert.All(HubTestRepo.NotNeeded, n => Assert.DoesNotContain(_t.Hub.Requests, r => r.Path.EndsWith("/" + n, StringComparison.Ordinal)));

        // The snapshot exports to the very bytes the served files do.
        var fromHub = _dirs.Temp("from-hub");
        var fromFiles = _dirs.Temp("from-files");
        ModelExporter.Export(new ExportOptions { InputDirectory = snapshot.Directory, OutputDirectory = fromHub });
        ModelExporter.Export(new ExportOptions { InputDirectory = HubTestRepo.Files, OutputDirectory = fromFiles });
        Assert.Equal(TestCheckpoint.Hash(Path.Combine(fromFiles, "model.onnx.data")), TestCheckpoint.Hash(Path.Combine(fromHub, "model.onnx.data")));
    }

    [Fact]
    public async Task DownloadAsync_SecondTime_NoFileRequest()
    {
        using var client = _t.Client();
        await DownloadAsync(client);
        _t.Hub.ClearRequests();
        var again = await DownloadAsync(client);
        Assert.Equal(0, again.BytesDownloaded);
        Assert.Empty(_t.FileRequests());
    }

    [Fact]
    public async Task DownloadAsync_TransferCut_ResumedWithRangeAndByteIdentical()
    {
        _t.Hub.CutAfter(Shard, 1_000_000);
        using var client = _t.Client();
        var snapshot = await DownloadAsync(client);

        AssertSnapshotComplete(snapshot);
        Assert.Equal(File.ReadAllBytes(Path.Combine(HubTestRepo.Files, Shard)), File.ReadAllBytes(Blob(Shard)));
        Assert.Contains(_t.StorageRequests(), r => RangeStart(r.Range) is > 0);
        // The cut bytes were kept, not fetched again: only the rest came over the second time.
        Assert.Equal(HubTestRepo.NeededFiles().Sum(SizeOf), snapshot.BytesDownloaded);
    }

    [Fact]
    public async Task DownloadAsync_RetriesExhausted_LeavesIncompleteThatTheNextRunResumes()
    {
        _t.Hub.CutAfter(Shard, 100_000, times: HubClient.MaxAttempts);
        using (var client = _t.Client())
        {
            var e = await Assert.ThrowsAsync<HubException>(() => DownloadAsync(client));
            Assert.Contains($"downloading {Shard} of {HubTestRepo.RepoId} from {_t.Hub.Endpoint} failed {HubClient.MaxAttempts} times", e.Message, StringComparison.Ordinal);
            Assert.Contains("run again to resume", e.Message, StringComparison.Ordinal);
        }
        var part = Blob(Shard) + ".incomplete";
        var kept = new FileInfo(part).Length;
        Assert.InRange(kept, 100_000, SizeOf(Shard) - 1);
        Assert.False(File.Exists(Blob(Shard)));

        _t.Hub.ClearRequests();
        using (var client = _t.Client())
        {
            AssertSnapshotComplete(await DownloadAsync(client));
        }
        Assert.Equal(File.ReadAllBytes(Path.Combine(HubTestRepo.Files, Shard)), File.ReadAllBytes(Blob(Shard)));
        Assert.Contains(_t.StorageRequests(), r => RangeStart(r.Range) == kept);
    }

    [Fact]
    public async Task DownloadAsync_ServerIgnoringRange_RestartsFromZero()
    {
        // A partial file of garbage: were it kept, the blob could not verify.
        var part = Blob(Shard) + ".incomplete";
        Directory.CreateDirectory(Path.GetDirectoryName(part)!);
        File.WriteAllBytes(part, new byte[300_000]);
        using var client = new HubClient(_t.Settings(), new RangeDroppingHandler()) { RetryDelay = TimeSpan.Zero };
        var snapshot = await client.DownloadAsync(await client.ResolveAsync(_t.Id));

        AssertSnapshotComplete(snapshot);
        Assert.All(_t.FileRequests(), r => Assert.Null(r.Range));
    }

    [Fact]
    public async Task DownloadAsync_IncompleteWithWrongBytes_HashedOnResumeRejectedAndDeleted()
    {
        var part = Blob(Shard) + ".incomplete";
        Directory.CreateDirectory(Path.GetDirectoryName(part)!);
        File.WriteAllBytes(part, new byte[300_000]);
        using var client = _t.Client();
        var e = await Assert.ThrowsAsync<HubException>(() => DownloadAsync(client));

        Assert.StartsWith($"{Shard} of {HubTestRepo.RepoId} from {_t.Hub.Endpoint} is corrupt: sha256 expected {HubTestRepo.Etag(Shard)}, got ", e.Message, StringComparison.Ordinal);
        Assert.Contains(_t.StorageRequests(), r => r.Range == "bytes=300000-");
        Assert.False(File.Exists(part));
        Assert.False(File.Exists(Blob(Shard)));
    }

    [Theory]
    [InlineData(Shard, "sha256")]
    [InlineData("config.json", "git blob sha1")]
    public async Task DownloadAsync_CorruptFile_RejectedAndNothingLeft(string name, string kind)
    {
        _t.Hub.Corrupt(HubTestRepo.RepoId, name);
        using var client = _t.Client();
        var e = await Assert.ThrowsAsync<HubException>(() => DownloadAsync(client));
        Assert.StartsWith($"{name} of {HubTestRepo.RepoId} from {_t.Hub.Endpoint} is corrupt: {kind} expected {HubTestRepo.Etag(name)}, got ", e.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(Blob(name)));
        Assert.False(File.Exists(Blob(name) + ".incomplete"));
    }

    [Fact]
    public async Task DownloadAsync_NotEnoughDisk_RefusedWithBothFiguresBeforeAnyFileRequest()
    {
        using var client = _t.Client();
        client.FreeBytes = _ => 50_000_000;
        var e = await Assert.ThrowsAsync<HubException>(() => DownloadAsync(client));
        var need = HubTestRepo.NeededFiles().Sum(SizeOf);
        Assert.Equal(FormattableString.Invariant($"not enough disk space for {HubTestRepo.RepoId}: {need / 1e9:F2} GB still to download (+0.10 GB margin) but {_t.Cache} has 0.05 GB free; free some space or set HF_HUB_CACHE to a larger drive"), e.Message);
        Assert.Empty(_t.FileRequests());
    }

    [Fact]
    public async Task DownloadAsync_TwoClientsAtOnce_EachFileTransferredOnceAndBothSnapshotsValid()
    {
        // A cut makes the first transfer of the shard slow to finish, so the two clients overlap on it.
        _t.Hub.CutAfter(Shard, 500_000);
        using var a = _t.Client();
        using var b = _t.Client();
        var revision = await a.ResolveAsync(_t.Id);
        var snapshots = await Task.WhenAll(Task.Run(() => a.DownloadAsync(revision)), Task.Run(() => b.DownloadAsync(revision)));

        foreach (var s in snapshots)
        {
            AssertSnapshotComplete(s);
        }
        var total = HubTestRepo.NeededFiles().Sum(SizeOf);
        Assert.Equal(total, snapshots.Sum(s => s.BytesDownloaded));
        Assert.Equal(total, _t.FileRequests().Where(r => r.Method == "GET").Sum(r => r.BodyBytes));
        foreach (var name in HubTestRepo.NeededFiles().Where(HubTestRepo.IsLfs))
        {
            // One resolve per transfer: the shard's two (the cut one and its resume), every other LFS file's one.
            var resolves = _t.FileRequests().Count(r => r.Path.EndsWith("/resolve/" + _t.Repo.Commit + "/" + name, StringComparison.Ordinal));
            Assert.Equal(name == Shard ? 2 : 1, resolves);
        }
    }

    [Fact]
    public async Task DownloadAsync_GatedWithAcceptedToken_WorksAndStorageGetsNoAuthorization()
    {
        await using var gated = await HubTestRepo.StartAsync(gated: true);
        gated.Hub.AcceptToken("hf_ok");
        using var client = gated.Client("hf_ok");
        var snapshot = await client.DownloadAsync(await client.ResolveAsync(gated.Id));

        Assert.Equal(File.ReadAllBytes(Path.Combine(HubTestRepo.Files, Shard)), File.ReadAllBytes(Path.Combine(snapshot.Directory, Shard)));
        Assert.NotEmpty(gated.StorageRequests());
        Assert.All(gated.StorageRequests(), r => Assert.False(r.HadAuthorization, r.Path));
        Assert.All(gated.Hub.Requests.Except(gated.StorageRequests()), r => Assert.True(r.HadAuthorization, r.Path));
    }

    private static long? RangeStart(string? range)
        => range is not null && range.StartsWith("bytes=", StringComparison.Ordinal) ? long.Parse(range["bytes=".Length..range.IndexOf('-', StringComparison.Ordinal)], System.Globalization.CultureInfo.InvariantCulture) : null;

    /// <summary>A transport that drops every Range header, as a server or proxy that ignores ranges would answer.</summary>
    private sealed class RangeDroppingHandler() : DelegatingHandler(new SocketsHttpHandler { AllowAutoRedirect = false })
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            request.Headers.Range = null;
            return base.SendAsync(request, cancellationToken);
        }
    }

    /// <summary>An IProgress that reports on the caller's thread (Progress&lt;T&gt; posts to the thread pool, out of order).</summary>
    private sealed class SyncProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}
