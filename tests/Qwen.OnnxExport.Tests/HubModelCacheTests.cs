using System.Text.Json.Nodes;
using Qwen.FakeHub;
using Qwen.OnnxExport.Hub;
using FakeHubServer = Qwen.FakeHub.FakeHub;

namespace Qwen.OnnxExport.Tests;

/// <summary>
/// Exports of Hub checkpoints are cached by commit, precision and target: the first call downloads and exports, a second
/// one reuses the export without a request, and two builds at once produce one export from one download.
/// </summary>
public sealed class HubModelCacheTests : IAsyncLifetime
{
    private const string Repo = "test-org/Qwen2.5-Tiny-Instruct";
    private readonly string _root = Directory.CreateTempSubdirectory("qwen-hub-export-").FullName;
    private FakeHubServer _hub = null!;
    private FakeRepo _repo = null!;

    public async Task InitializeAsync()
    {
        var source = Path.Combine(_root, "repo");
        QwenRepoFiles.Write("tiny", 1234, source, shards: 2);
        _hub = await FakeHubServer.StartAsync();
        _repo = _hub.AddRepo(Repo, source);
    }

    public async Task DisposeAsync()
    {
        await _hub.DisposeAsync();
        Directory.Delete(_root, recursive: true);
    }

    [Fact]
    public void DirectoryFor_NamesTheCommitPrecisionVersion_AndTheTargetOnlyWhenNotThePrecisionsOwn()
    {
        var repo = new HubRepoId("Qwen/Qwen2.5-7B-Instruct", "main");
        var commit = new string('c', 40);
        var folder = Path.Combine(_root, "hub", "Qwen--Qwen2.5-7B-Instruct");
        Assert.Equal(Path.Combine(folder, $"{commit}-int4-v{RandomModelCache.CacheVersion}"), HubModelCache.DirectoryFor(_root, repo, commit, Precision.Int4, Target.Cpu));
        Assert.Equal(Path.Combine(folder, $"{commit}-int4-cuda-v{RandomModelCache.CacheVersion}"), HubModelCache.DirectoryFor(_root, repo, commit, Precision.Int4, Target.Cuda));
        Assert.Equal(Path.Combine(folder, $"{commit}-fp16-v{RandomModelCache.CacheVersion}"), HubModelCache.DirectoryFor(_root, repo, commit, Precision.Fp16, Target.Cuda));
    }

    [Fact]
    public async Task GetOrCreate_FirstCallExports_SecondReusesWithoutARequest()
    {
        using var client = Client();
        Assert.True(HubRepoId.TryParse(Repo, out var repo));
        var revision = await client.ResolveAsync(repo);
        var dir = await HubModelCache.GetOrCreateAsync(client, revision, Precision.Fp32, Target.Cpu, Path.Combine(_root, "exports"));

        Assert.Equal(HubModelCache.DirectoryFor(Path.Combine(_root, "exports"), repo, _repo.Commit, Precision.Fp32, Target.Cpu), dir);
        var source = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "manifest.json")))!["source"]!;
        Assert.Equal((Repo, "main", _repo.Commit), ((string?)source["repo"], (string?)source["revision"], (string?)source["commit"]));

        _hub.ClearRequests();
        Assert.Equal(dir, await HubModelCache.GetOrCreateAsync(client, revision, Precision.Fp32, Target.Cpu, Path.Combine(_root, "exports")));
        Assert.Empty(_hub.Requests);
    }

    [Fact]
    public async Task GetOrCreate_TwoAtOnce_OneWaitsAndReuses_EachFileCrossesTheWireOnce()
    {
        using var client = Client();
        Assert.True(HubRepoId.TryParse(Repo, out var repo));
        var revision = await client.ResolveAsync(repo);
        _hub.ClearRequests();
        var waited = 0;
        var exports = Path.Combine(_root, "exports-twice");
        var builds = Enumerable.Range(0, 2).Select(_ => Task.Run(() => HubModelCache.GetOrCreateAsync(client, revision, Precision.Fp32, Target.Cpu, exports, waiting: () => Interlocked.Increment(ref waited)))).ToArray();
        var dirs = await Task.WhenAll(builds);

        Assert.Equal(dirs[0], dirs[1]);
        Assert.Single(Directory.GetFileSystemEntries(Path.GetDirectoryName(dirs[0])!)); // no temp or lock left beside it
        foreach (var file in _repo.Files.Where(f => f.Sha256 is not null))
        {
            var bytes = _hub.Requests.Where(r => r.Method == "GET" && r.Status is 200 or 206 && r.Path.Contains(file.Sha256!, StringComparison.Ordinal)).Sum(r => r.BodyBytes);
            Assert.Equal(file.Size, bytes);
        }
        Assert.InRange(waited, 0, 1); // the second either waited for the lock or found the export already published
    }

    private HubClient Client() => new(new HubSettings { Endpoint = _hub.Endpoint, CacheDirectory = Path.Combine(_root, "hf") });
}
