using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Qwen.FakeHub;

namespace Qwen.Server.Tests.Hosting;

/// <summary>
/// <c>--model org/name</c> end to end: the real server as a process, against a fake Hugging Face Hub on loopback serving a
/// random tiny checkpoint in a real Qwen2.5 repo's file set. It downloads, exports and serves under the repo id; its greedy
/// answer equals the one of the same weights exported by hand; a restart reuses the export after one API call; offline
/// makes no request at all; two servers starting at once share one download and one export; a gated repo without a
/// token is one line on stderr.
/// </summary>
public sealed class HubModelTests(HubModelTests.WarmHub warm) : IClassFixture<HubModelTests.WarmHub>
{
    private const string Repo = "test-org/Qwen2.5-Tiny-Instruct";
    private static readonly TimeSpan Bound = TimeSpan.FromMinutes(3);
    private static readonly string[] ServeArgs = ["--urls", "http://127.0.0.1:0", "--max-model-len", "256", "--max-num-seqs", "2"];
    private static readonly string Chat = """{"messages":[{"role":"user","content":"Name three colours."}],"max_tokens":12,"temperature":0,"logprobs":true}""";

    [Fact]
    public async Task FirstStart_DownloadsExportsAndServes_UnderTheRepoIdWithItsCommit_AnsweringAsTheSameWeightsExportedByHand()
    {
        // The warm-up start (the fixture) is the first start: it downloaded only the files an export needs, once each.
        var transfers = warm.FirstStartRequests.Where(r => r.Method == "GET" && r.Status is 200 or 206).Select(r => r.Path).ToList();
        foreach (var file in warm.RepoFiles.Files.Where(f => f.Sha256 is not null))
        {
            Assert.Single(transfers, p => p.EndsWith(file.Sha256!, StringComparison.Ordinal) || p.EndsWith("/" + file.Path, StringComparison.Ordinal));
        }
        Assert.DoesNotContain(transfers, p => p.EndsWith("/README.md", StringComparison.Ordinal) || p.EndsWith("/LICENSE", StringComparison.Ordinal) || p.EndsWith("/.gitattributes", StringComparison.Ordinal));

        // JSON logs: the download and the export each reported progress as events with the bytes as fields.
        var events = warm.FirstStartStdout.Where(l => l.StartsWith('{')).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        var progress = events.Where(e => e.TryGetProperty("Activity", out var a) && a.GetString() == $"Downloading {Repo}").ToList();
        Assert.NotEmpty(progress);
        var last = progress[^1];
        Assert.Equal(last.GetProperty("Total").GetInt64(), last.GetProperty("Done").GetInt64());
        Assert.Equal(warm.RepoFiles.Files.Where(Needed).Sum(f => f.Size), last.GetProperty("Total").GetInt64());
        Assert.Contains(events, e => e.TryGetProperty("Activity", out var a) && a.GetString() == $"Exporting {Repo}");

        await using var server = await StartAsync(warm.Environment());
        using var http = new HttpClient { BaseAddress = server.Address };
        var card = (await http.GetFromJsonAsync<JsonElement>("/v1/models")).GetProperty("data")[0];
        Assert.Equal((Repo, Repo, warm.RepoFiles.Commit), (card.GetProperty("id").GetString(), card.GetProperty("root").GetString(), card.GetProperty("revision").GetString()));
        var one = await http.GetFromJsonAsync<JsonElement>($"/v1/models/{Repo}");
        Assert.Equal(Repo, one.GetProperty("id").GetString());

        // The reference: the same random weights exported from their one-file original (TestModels.Tiny), served by hand.
        await using var reference = await StartAsync(new Dictionary<string, string>(), "--model", TestModels.Tiny);
        using var referenceHttp = new HttpClient { BaseAddress = reference.Address };
        var (text, tokens) = await GreedyAsync(http, Repo);
        var (expectedText, expectedTokens) = await GreedyAsync(referenceHttp, null);
        Assert.Equal(12, expectedTokens.Count);
        Assert.Equal(expectedTokens, tokens);
        Assert.Equal(expectedText, text);
    }

    [Fact]
    public async Task Restart_ReusesTheExportOfTheCommit_AfterOneApiCallAndNoDownload()
    {
        warm.Hub.ClearRequests();
        await using var server = await StartAsync(warm.Environment());
        var request = Assert.Single(warm.Hub.Requests);
        Assert.StartsWith($"/api/models/{Repo}/revision/main", request.Path, StringComparison.Ordinal);
        Assert.Contains(server.Process.Stdout, l => l.Contains("export is cached in", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Offline_WithTheCacheWarm_ServesWithoutAnyRequest()
    {
        warm.Hub.ClearRequests();
        await using var server = await StartAsync(warm.Environment(offline: true));
        using var http = new HttpClient { BaseAddress = server.Address };
        Assert.Equal(Repo, (await http.GetFromJsonAsync<JsonElement>("/v1/models")).GetProperty("data")[0].GetProperty("id").GetString());
        Assert.Empty(warm.Hub.Requests);
    }

    [Fact]
    public async Task Offline_WithAnEmptyCache_ExitsWithOneLineNamingWhatIsMissing_AndMakesNoRequest()
    {
        warm.Hub.ClearRequests();
        var env = warm.Environment(offline: true, hubCache: Temp("qwen-hf-empty-"), exportCache: Temp("qwen-export-empty-"));
        await using var server = ServerProcess.Start([.. ServeArgs, "--model", Repo], env);
        Assert.Equal(1, await server.WaitForExitAsync(Bound));
        var line = Assert.Single(server.Stderr, l => l.Length > 0);
        Assert.Contains("HF_HUB_OFFLINE", line, StringComparison.Ordinal);
        Assert.Contains(Repo, line, StringComparison.Ordinal);
        Assert.Contains("missing", line, StringComparison.Ordinal);
        Assert.Empty(warm.Hub.Requests);
    }

    [Fact]
    public async Task TwoServersStartingAtOnce_ShareOneDownloadAndOneExport_AndBothServe()
    {
        var hubCache = Temp("qwen-hf-twice-");
        var exportCache = Temp("qwen-export-twice-");
        warm.Hub.ClearRequests();
        var env = warm.Environment(hubCache: hubCache, exportCache: exportCache);
        // At the default precision (int4 on the CPU), unlike the other tests (fp32, to compare with the reference).
        var starting = new[] { StartAsync(env, "--model", Repo), StartAsync(env, "--model", Repo) };
        await using var first = await starting[0];
        await using var second = await starting[1];
        foreach (var server in new[] { first, second })
        {
            using var http = new HttpClient { BaseAddress = server.Address };
            var (_, tokens) = await GreedyAsync(http, Repo);
            Assert.Equal(12, tokens.Count);
        }

        // Every LFS file's bytes crossed the wire once in all, and one export directory exists, with nothing left beside it.
        foreach (var file in warm.RepoFiles.Files.Where(f => f.Sha256 is not null && Needed(f)))
        {
            var served = warm.Hub.Requests.Where(r => r.Method == "GET" && r.Status is 200 or 206 && r.Path.Contains(file.Sha256!, StringComparison.Ordinal)).Sum(r => r.BodyBytes);
            Assert.Equal(file.Size, served);
        }
        var exports = Directory.GetFileSystemEntries(Path.Combine(exportCache, "hub", Repo.Replace("/", "--", StringComparison.Ordinal)));
        var export = Assert.Single(exports);
        Assert.StartsWith(warm.RepoFiles.Commit + "-int4-v", Path.GetFileName(export), StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(export, "manifest.json")));
    }

    [Fact]
    public async Task GatedRepo_WithoutAToken_ExitsWithOneLineSayingToSetHfToken()
    {
        const string gated = "test-org/Qwen2.5-Gated-Instruct";
        warm.Hub.AddRepo(gated, warm.RepoDirectory, gated: true);
        var env = warm.Environment(hubCache: Temp("qwen-hf-gated-"), exportCache: Temp("qwen-export-gated-"));
        await using var server = ServerProcess.Start([.. ServeArgs, "--model", gated], env);
        Assert.Equal(1, await server.WaitForExitAsync(Bound));
        var line = Assert.Single(server.Stderr, l => l.Length > 0);
        Assert.Contains(gated, line, StringComparison.Ordinal);
        Assert.Contains("gated", line, StringComparison.Ordinal);
        Assert.Contains("HF_TOKEN", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task NotARepoIdNorADirectory_ExitsWithOneLineNamingBoth()
    {
        var missing = Path.Combine(Path.GetTempPath(), $"qwen-missing-{Guid.NewGuid():N}", "model");
        await using var server = ServerProcess.Start([.. ServeArgs, "--model", missing], warm.Environment());
        Assert.Equal(1, await server.WaitForExitAsync(Bound));
        var line = Assert.Single(server.Stderr, l => l.Length > 0);
        Assert.Contains($"Model (--model, QWEN_MODEL) must be an existing directory or a Hugging Face repo id, org/name[@revision] (given '{missing}')", line, StringComparison.Ordinal);
    }

    private static bool Needed(FakeRepoFile file) => file.Path is not ("README.md" or "LICENSE" or ".gitattributes");

    private static string Temp(string prefix) => Directory.CreateTempSubdirectory(prefix).FullName;

    private static async Task<(string Text, List<string> Tokens)> GreedyAsync(HttpClient http, string? model)
    {
        var body = model is null ? Chat : Chat.Replace("{\"messages\"", $"{{\"model\":\"{model}\",\"messages\"", StringComparison.Ordinal);
        using var response = await http.PostAsync(new Uri("/v1/chat/completions", UriKind.Relative), new StringContent(body, Encoding.UTF8, "application/json"));
        var json = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(response.IsSuccessStatusCode, json.ToString());
        var choice = json.GetProperty("choices")[0];
        var tokens = choice.GetProperty("logprobs").GetProperty("content").EnumerateArray().Select(t => t.GetProperty("token").GetString()!).ToList();
        return (choice.GetProperty("message").GetProperty("content").GetString()!, tokens);
    }

    private static async Task<RunningServer> StartAsync(IDictionary<string, string> env, params string[] model)
    {
        var process = ServerProcess.Start([.. ServeArgs, .. model.Length == 0 ? ["--model", Repo, "--precision", "fp32"] : model], env);
        try
        {
            return new RunningServer(process, await process.WaitForListeningAsync(Bound));
        }
        catch
        {
            await process.DisposeAsync();
            throw;
        }
    }

    /// <summary>A server process that is listening, and its address.</summary>
    private sealed record RunningServer(ServerProcess Process, Uri Address) : IAsyncDisposable
    {
        public ValueTask DisposeAsync() => Process.DisposeAsync();
    }

    /// <summary>The fake Hub with the tiny repo, and one first start of the server against it with JSON logs (download and export).</summary>
    public sealed class WarmHub : IAsyncLifetime
    {
        public FakeHub.FakeHub Hub { get; private set; } = null!;

        public FakeRepo RepoFiles { get; private set; } = null!;

        public string RepoDirectory { get; } = Temp("qwen-repo-");

        public string HubCache { get; } = Temp("qwen-hf-");

        public string ExportCache { get; } = Temp("qwen-export-");

        public IReadOnlyList<FakeHubRequest> FirstStartRequests { get; private set; } = [];

        public IReadOnlyList<string> FirstStartStdout { get; private set; } = [];

        public Dictionary<string, string> Environment(bool offline = false, string? hubCache = null, string? exportCache = null)
        {
            var env = new Dictionary<string, string>
            {
                ["HF_ENDPOINT"] = Hub.Endpoint,
                ["HF_HUB_CACHE"] = hubCache ?? HubCache,
                ["QWEN_MODEL_CACHE_DIR"] = exportCache ?? ExportCache,
            };
            if (offline)
            {
                env["HF_HUB_OFFLINE"] = "1";
            }
            return env;
        }

        public async Task InitializeAsync()
        {
            QwenRepoFiles.Write("tiny", 1234, RepoDirectory, shards: 2);
            Hub = await FakeHub.FakeHub.StartAsync();
            RepoFiles = Hub.AddRepo(Repo, RepoDirectory);
            await using var server = ServerProcess.Start([.. ServeArgs, "--model", Repo, "--precision", "fp32", "--json-logs"], Environment());
            await server.WaitForListeningAsync(Bound);
            FirstStartRequests = Hub.Requests;
            FirstStartStdout = server.Stdout;
        }

        public async Task DisposeAsync() => await Hub.DisposeAsync();
    }
}
