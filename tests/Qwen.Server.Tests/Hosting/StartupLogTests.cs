using System.Text.Json;

namespace Qwen.Server.Tests.Hosting;

/// <summary>The real server's startup log: the demo warning (text and JSON), whether auth is on, the execution provider and KV cache, JSON lines with --json-logs, and the content root being the app's directory.</summary>
public sealed class StartupLogTests
{
    [Fact]
    public async Task Server_DemoModel_WarnsItIsMeaninglessAndHowToServeARealModel_ContentRootIsTheAppDirectory()
    {
        // ServerProcess starts the server in a fresh temp directory, so the content root must not be the current directory.
        await using var server = ServerProcess.Start(["--urls", "http://127.0.0.1:0", "--threads", "1", "--max-model-len", "256"]);
        await server.WaitForListeningAsync(TimeSpan.FromMinutes(2));

        var warning = Assert.Single(server.Stdout, l => l.Contains("DEMO MODEL", StringComparison.Ordinal));
        Assert.Contains("meaningless", warning, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("start with --model <dir>", warning, StringComparison.Ordinal);
        var project = Path.Combine(Deploy.RepoRoot.Path, "onnx-export");
        Assert.Contains($"`dotnet run -c Release --project {project} -- --input <hf-dir> --output <dir> --precision int4`", warning, StringComparison.Ordinal);
        // The tiny demo model: 2 layers x (K, V) x 2 kv heads x 16 x 4 bytes = 512 bytes per token; 8 slots x 256 tokens = 1 MiB.
        Assert.Contains(server.Stdout, l => l.Contains("Serving qwen2.5-demo-tiny", StringComparison.Ordinal) && l.Contains("on cpu: KV cache 8 slots x 256 tokens = 2048 tokens, 1 MiB", StringComparison.Ordinal));
        Assert.DoesNotContain(server.Stdout, l => l.Contains("GPU memory", StringComparison.Ordinal)); // the utilisation is cuda's alone
        var auth = Assert.Single(server.Stdout, l => l.Contains("Auth:", StringComparison.Ordinal));
        Assert.EndsWith("Auth: off (no --api-keys): every route is open", auth, StringComparison.Ordinal);

        // The host logs its content root right after "Now listening": wait for that line too.
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (DateTime.UtcNow < deadline && !server.Stdout.Any(l => l.Contains("Content root path:", StringComparison.Ordinal)))
        {
            await Task.Delay(50);
        }
        var line = Assert.Single(server.Stdout, l => l.Contains("Content root path:", StringComparison.Ordinal));
        Assert.EndsWith("Content root path: " + AppContext.BaseDirectory, line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Server_JsonLogsFlag_EveryLineIsAJsonEvent()
    {
        await using var server = ServerProcess.Start(["--json-logs", "--threads", "1", "--max-model-len", "256"], new Dictionary<string, string> { ["ASPNETCORE_URLS"] = "http://127.0.0.1:0", ["QWEN_API_KEYS"] = "sk-a,sk-b" });
        var address = await server.WaitForListeningAsync(TimeSpan.FromMinutes(2));
        Assert.Equal("127.0.0.1", address.Host);

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
        Assert.Contains(events, e => e.GetProperty("@mt").GetString()!.StartsWith("Serving", StringComparison.Ordinal));
        var auth = Assert.Single(events, e => e.GetProperty("@mt").GetString()!.StartsWith("Auth: on ({Keys} keys)", StringComparison.Ordinal));
        Assert.Equal(2, auth.GetProperty("Keys").GetInt32());
        Assert.DoesNotContain(server.Stdout, l => l.Contains("sk-a", StringComparison.Ordinal)); // the keys themselves are never logged
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
