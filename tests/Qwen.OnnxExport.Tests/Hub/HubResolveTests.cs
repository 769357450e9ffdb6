using System.Net;
using System.Net.Sockets;
using Qwen.OnnxExport.Hub;

namespace Qwen.OnnxExport.Tests.Hub;

/// <summary>Resolving a repo id against the fake Hub: one API call, the export's files only, one-line errors.</summary>
public sealed class HubResolveTests : IAsyncLifetime
{
    private HubTestRepo _t = null!;

    public async Task InitializeAsync() => _t = await HubTestRepo.StartAsync();

    public async Task DisposeAsync() => await _t.DisposeAsync();

    [Fact]
    public async Task ResolveAsync_Repo_CommitAndTheExportsFilesWithTheirDigests()
    {
        using var client = _t.Client();
        var revision = await client.ResolveAsync(_t.Id);

        Assert.Equal(_t.Repo.Commit, revision.Commit);
        Assert.Equal(HubTestRepo.NeededFiles(), revision.Files.Select(f => f.Path).Order(StringComparer.Ordinal));
        Assert.Contains(revision.Files, f => f.Path == "model-00002-of-00002.safetensors");
        foreach (var f in revision.Files)
        {
            var path = Path.Combine(HubTestRepo.Files, f.Path);
            Assert.Equal(new FileInfo(path).Length, f.Size);
            Assert.Equal(HubTestRepo.IsLfs(f.Path) ? HubTestRepo.Sha256(path) : null, f.Sha256);
            if (!HubTestRepo.IsLfs(f.Path))
            {
                Assert.Equal(HubTestRepo.GitBlobSha1(path), f.BlobId);
            }
        }
        var request = Assert.Single(_t.Hub.Requests);
        Assert.Equal("GET", request.Method);
        Assert.StartsWith($"/api/models/{HubTestRepo.RepoId}/revision/main", request.Path, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ResolveAsync_CommitAsRevision_SameFiles()
    {
        using var client = _t.Client();
        var revision = await client.ResolveAsync(new HubRepoId(HubTestRepo.RepoId, _t.Repo.Commit));
        Assert.Equal(_t.Repo.Commit, revision.Commit);
        Assert.Equal(HubTestRepo.NeededFiles().Count, revision.Files.Count);
    }

    [Fact]
    public async Task ResolveAsync_MissingRepo_NotFoundNamingEndpoint()
    {
        using var client = _t.Client();
        var e = await Assert.ThrowsAsync<HubException>(() => client.ResolveAsync(new HubRepoId("Qwen/No-Such-Model", "main")));
        Assert.Equal($"Qwen/No-Such-Model not found on {_t.Hub.Endpoint} (a private repo also needs HF_TOKEN)", e.Message);
    }

    [Fact]
    public async Task ResolveAsync_MissingRevision_RevisionNotFound()
    {
        using var client = _t.Client();
        var e = await Assert.ThrowsAsync<HubException>(() => client.ResolveAsync(new HubRepoId(HubTestRepo.RepoId, "v9")));
        Assert.Equal($"{HubTestRepo.RepoId}: revision 'v9' not found on {_t.Hub.Endpoint} (give a branch, tag or commit of the repo)", e.Message);
    }

    [Fact]
    public async Task ResolveAsync_GatedWithoutToken_SaysAcceptTermsAndSetToken()
    {
        await using var gated = await HubTestRepo.StartAsync(gated: true);
        using var client = gated.Client();
        var e = await Assert.ThrowsAsync<HubException>(() => client.ResolveAsync(gated.Id));
        Assert.Equal($"{HubTestRepo.RepoId} on {gated.Hub.Endpoint} is gated: accept its terms at {gated.Hub.Endpoint}/{HubTestRepo.RepoId} and set HF_TOKEN to a token with access", e.Message);
    }

    [Fact]
    public async Task ResolveAsync_GatedWithTokenLackingAccess_SaysTokenHasNoAccess()
    {
        await using var gated = await HubTestRepo.StartAsync(gated: true);
        gated.Hub.AcceptToken("hf_noaccess", gatedAccess: false);
        using var client = gated.Client("hf_noaccess");
        var e = await Assert.ThrowsAsync<HubException>(() => client.ResolveAsync(gated.Id));
        Assert.StartsWith($"HF_TOKEN has no access to the gated repo {HubTestRepo.RepoId} on {gated.Hub.Endpoint}: accept its terms at {gated.Hub.Endpoint}/{HubTestRepo.RepoId}", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ResolveAsync_UnknownToken_SaysTokenInvalid()
    {
        await using var gated = await HubTestRepo.StartAsync(gated: true);
        using var client = gated.Client("hf_wrong");
        var e = await Assert.ThrowsAsync<HubException>(() => client.ResolveAsync(gated.Id));
        Assert.StartsWith($"HF_TOKEN was refused by {gated.Hub.Endpoint} for {HubTestRepo.RepoId} (401): the token is invalid or expired", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ResolveAsync_RepoWithoutWeightsOrConfig_NotAQwenCheckpoint()
    {
        var dir = Path.Combine(_t.Cache + "-src");
        Directory.CreateDirectory(dir);
        try
        {
            File.WriteAllText(Path.Combine(dir, "README.md"), "# not a model");
            File.Copy(Path.Combine(HubTestRepo.Files, "tokenizer.json"), Path.Combine(dir, "tokenizer.json"));
            _t.Hub.AddRepo("someone/docs", dir);
            using var client = _t.Client();
            var e = await Assert.ThrowsAsync<HubException>(() => client.ResolveAsync(new HubRepoId("someone/docs", "main")));
            Assert.Equal($"someone/docs on {_t.Hub.Endpoint} is not a Transformers Qwen2.5 checkpoint: its root has no config.json, *.safetensors weights", e.Message);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task ResolveAsync_UnreachableEndpoint_SaysCannotReachAndOffline()
    {
        // Port 1 on loopback: nothing listens there, the connection is refused at once.
        using var client = new HubClient(new HubSettings { Endpoint = "http://127.0.0.1:1", CacheDirectory = _t.Cache });
        var e = await Assert.ThrowsAsync<HubException>(() => client.ResolveAsync(_t.Id));
        Assert.StartsWith("cannot reach http://127.0.0.1:1: ", e.Message, StringComparison.Ordinal);
        Assert.EndsWith("; with HF_HUB_OFFLINE=1 the cache is used without network", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public async Task ResolveAsync_EndpointThatNeverAnswers_TimesOutAsUnreachable()
    {
        // Accepts the connection (the kernel's backlog does) and never reads or answers.
        using var silent = new TcpListener(IPAddress.Loopback, 0);
        silent.Start();
        var endpoint = $"http://127.0.0.1:{((IPEndPoint)silent.LocalEndpoint).Port}";
        using var client = new HubClient(new HubSettings { Endpoint = endpoint, CacheDirectory = _t.Cache }) { ReadTimeout = TimeSpan.FromMilliseconds(300) };
        var e = await Assert.ThrowsAsync<HubException>(() => client.ResolveAsync(_t.Id));
        Assert.Equal($"cannot reach {endpoint}: no answer in 0.3 s; with HF_HUB_OFFLINE=1 the cache is used without network", e.Message);
    }
}
