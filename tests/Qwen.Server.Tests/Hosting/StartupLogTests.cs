using System.Text.Json;
using System.Text.RegularExpressions;
using Qwen.OnnxExport;
using Qwen.Server.Hosting;

namespace Qwen.Server.Tests.Hosting;

/// <summary>The real server's startup log: one line, once listening, with the model, precision, provider, threads, KV cache, auth, bound addresses and Swagger UI (text and JSON, keys off and on); the demo and open-auth warnings; JSON lines with --json-logs; and the content root being the app's directory.</summary>
public sealed class StartupLogTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromMinutes(2);

    [Fact]
    public async Task Server_DemoModelWithoutKeys_LogsOneStartupLineWithEveryField_WarnsOfTheDemoAndOpenAuth_ContentRootIsTheAppDirectory()
    {
        // ServerProcess starts the server in a fresh temp directory, so the content root must not be the current directory.
        await using var server = ServerProcess.Start(["--urls", "http://127.0.0.1:0", "--threads", "0", "--max-model-len", "256"]);
        var address = await server.WaitForListeningAsync(Bound); // Kestrel's own line: the port the OS chose for port 0
        var bound = $"http://127.0.0.1:{address.Port}";

        // One line once listening, with the values as they resolved: --threads 0 is one per core of this machine; the tiny
        // demo model has 2 layers x (K, V) x 2 kv heads x 16 x 4 bytes = 512 bytes per token, 8 slots x 256 tokens = 1 MiB.
        var line = await server.WaitForLineAsync(l => l.Contains("] Serving ", StringComparison.Ordinal), Bound);
        var dir = RandomModelCache.DirectoryFor("tiny", "fp32", ModelHost.DemoSeed, RandomModelCache.DefaultRoot, demo: true);
        // Huge pages: what the kernel gave this machine's load (the tiny model's weights take tens of MiB), so a pattern.
        Assert.Matches(
            "INF] Serving " + Regex.Escape($"qwen2.5-demo-tiny (fp32) from {dir} on cpu with {Environment.ProcessorCount} threads; KV cache 8 slots x 256 tokens, 1 MiB; rope scaling none; ") +
            "huge pages [0-9]+ MiB; " + Regex.Escape($"auth off (0 keys); listening on {bound}; Swagger UI {bound}/swagger (open); playground {bound}/") + "$",
            line);
        Assert.Single(server.Stdout, l => l.Contains("] Serving ", StringComparison.Ordinal));
        using var http = new HttpClient();
        Assert.Contains("swagger-ui", await http.GetStringAsync(new Uri($"{bound}/swagger")), StringComparison.Ordinal); // the URL opens Swagger UI
        Assert.DoesNotContain(server.Stdout, l => l.Contains("GPU memory", StringComparison.Ordinal)); // the utilisation is cuda's alone

        // The warnings stay lines of their own.
        var warning = Assert.Single(server.Stdout, l => l.Contains("DEMO MODEL", StringComparison.Ordinal));
        Assert.Contains("WRN]", warning, StringComparison.Ordinal);
        Assert.Contains("meaningless", warning, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("To serve a real model: --model Qwen/Qwen2.5-0.5B-Instruct (any Qwen2.5 repo id; downloaded and exported on first use)", warning, StringComparison.Ordinal);
        var auth = Assert.Single(server.Stdout, l => l.Contains("Auth:", StringComparison.Ordinal));
        Assert.EndsWith("WRN] Auth: off (no --api-keys): every route is open", auth, StringComparison.Ordinal);

        // The host logs its content root right after "Now listening": wait for that line too.
        var root = await server.WaitForLineAsync(l => l.Contains("Content root path:", StringComparison.Ordinal), Bound);
        Assert.EndsWith("Content root path: " + AppContext.BaseDirectory, root, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Server_JsonLogsWithKeys_EveryLineIsAJsonEvent_TheStartupLineCarriesEachFieldAndNoKey()
    {
        await using var server = ServerProcess.Start(
            ["--json-logs", "--threads", "1", "--max-model-len", "256", "--protect-operations"],
            new Dictionary<string, string> { ["ASPNETCORE_URLS"] = "http://127.0.0.1:0", ["QWEN_API_KEYS"] = "sk-a,sk-b" });
        var address = await server.WaitForListeningAsync(Bound);
        Assert.Equal("127.0.0.1", address.Host);
        var bound = $"http://127.0.0.1:{address.Port}";
        await server.WaitForLineAsync(l => l.Contains("\"@mt\":\"Serving ", StringComparison.Ordinal), Bound);

        var events = server.Stdout.Select(line =>
        {
            using var doc = JsonDocument.Parse(line);
            var e = doc.RootElement;
            Assert.True(e.TryGetProperty("@t", out _), "no timestamp: " + line);
            Assert.True(e.TryGetProperty("@mt", out _), "no message template: " + line);
            return e.Clone();
        }).ToList();
        Assert.NotEmpty(events);
        var warning = Assert.Single(events, e => e.TryGetProperty("@l", out var l) && l.GetString() == "Warning" && e.GetProperty("@mt").GetString()!.Contains("MEANINGLESS", StringComparison.Ordinal));
        Assert.Equal("tiny", warning.GetProperty("Preset").GetString());

        var started = Assert.Single(events, e => e.GetProperty("@mt").GetString()!.StartsWith("Serving", StringComparison.Ordinal));
        Assert.False(started.TryGetProperty("@l", out _)); // compact JSON leaves the level out for Information
        Assert.Equal("qwen2.5-demo-tiny", started.GetProperty("Model").GetString());
        Assert.Equal("fp32", started.GetProperty("Precision").GetString());
        Assert.Equal(RandomModelCache.DirectoryFor("tiny", "fp32", ModelHost.DemoSeed, RandomModelCache.DefaultRoot, demo: true), started.GetProperty("Directory").GetString());
        Assert.Equal("cpu", started.GetProperty("ExecutionProvider").GetString());
        Assert.Equal(1, started.GetProperty("Threads").GetInt32());
        Assert.Equal((8, 256, 1.0), (started.GetProperty("Slots").GetInt32(), started.GetProperty("Tokens").GetInt32(), started.GetProperty("KvCacheMiB").GetDouble()));
        Assert.Equal("none", started.GetProperty("RopeScaling").GetString());
        var hugePages = started.GetProperty("HugePagesMiB").GetDouble();
        if (OperatingSystem.IsLinux() && !File.ReadAllText("/sys/kernel/mm/transparent_hugepage/enabled").Contains("[never]", StringComparison.Ordinal))
        {
            // On by default: some of the model is in huge pages (how much is the kernel's to give; HugePagesTests checks the runner).
            Assert.True(hugePages > 0, $"{hugePages} MiB in huge pages");
        }
        Assert.Equal(("on", 2), (started.GetProperty("Auth").GetString(), started.GetProperty("ApiKeys").GetInt32()));
        Assert.Equal(bound, started.GetProperty("Urls").GetString());
        Assert.Equal(($"{bound}/swagger", "needs a key"), (started.GetProperty("SwaggerUrl").GetString(), started.GetProperty("SwaggerAccess").GetString()));
        Assert.Equal($"{bound}/", started.GetProperty("PlaygroundUrl").GetString());
        Assert.DoesNotContain(events, e => e.GetProperty("@mt").GetString()!.StartsWith("Auth:", StringComparison.Ordinal)); // folded into the line; no warning with keys

        // "needs a key" is what the server does: Swagger UI answers 401 without one and opens with one. A client drops the
        // Authorization header on a redirect, so /swagger's redirect to its index page is followed here by hand.
        using var http = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false });
        var swagger = new Uri($"{bound}/swagger");
        using var refused = await http.GetAsync(swagger);
        Assert.Equal(System.Net.HttpStatusCode.Unauthorized, refused.StatusCode);
        using var withKey = new HttpRequestMessage(HttpMethod.Get, swagger) { Headers = { { "Authorization", "Bearer sk-b" } } };
        using var redirect = await http.SendAsync(withKey);
        Assert.Equal(System.Net.HttpStatusCode.MovedPermanently, redirect.StatusCode); // let in: on to Swagger UI's index page
        using var indexWithKey = new HttpRequestMessage(HttpMethod.Get, new Uri(swagger, redirect.Headers.Location!)) { Headers = { { "Authorization", "Bearer sk-b" } } };
        using var page = await http.SendAsync(indexWithKey);
        Assert.Contains("swagger-ui", await page.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.DoesNotContain(server.Stdout, l => l.Contains("sk-a", StringComparison.Ordinal) || l.Contains("sk-b", StringComparison.Ordinal)); // the keys themselves are never logged
    }

    [Fact]
    public async Task Server_StartedFromAnotherDirectory_ReadsTheAppsettingsBesideTheApp()
    {
        // An environment-specific settings file beside the server (the content root) with a bad value, and an
        // appsettings.json in the current directory with another bad value: only the first may be read.
        var environment = $"HostingTest{Guid.NewGuid():N}";
        var beside = Path.Combine(AppContext.BaseDirectory, $"appsettings.{environment}.json");
        var cwd = Directory.CreateTempSubdirectory("qwen-cwd-").FullName;
        await File.WriteAllTextAsync(beside, """{"Qwen":{"MaxNumSeqs":0}}""");
        await File.WriteAllTextAsync(Path.Combine(cwd, "appsettings.json"), """{"Qwen":{"MaxWaiting":-5}}""");
        try
        {
            await using var server = ServerProcess.Start(["--threads", "1"], new Dictionary<string, string> { ["ASPNETCORE_ENVIRONMENT"] = environment }, cwd);
            var exit = await server.WaitForExitAsync(TimeSpan.FromMinutes(2));
            Assert.Equal(1, exit);
            var line = Assert.Single(server.Stderr, l => l.Length > 0);
            Assert.Equal($"qwen-server: invalid settings: MaxNumSeqs (--max-num-seqs, QWEN_MAX_NUM_SEQS) must be in [1, 1024] (given 0, from {beside})", line);
        }
        finally
        {
            File.Delete(beside);
        }
    }
}
