using System.Text.Json;
using Qwen.Server.Tests.Deploy;

namespace Qwen.Server.Tests.Clients;

/// <summary>
/// The Node client scenarios in tests/clients: installs them once per test run (<c>npm ci</c> from the committed lock,
/// skipped when node_modules already matches it) and runs one script with the server's base URL. Each script prints one
/// JSON line (<c>{"ok": true, ...}</c>) and exits non-zero with a diagnostic on failure.
/// </summary>
internal static class NodeClients
{
    private static readonly SemaphoreSlim InstallGate = new(1, 1);
    private static bool _installed;

    public static string Directory => Path.Combine(RepoRoot.Path, "tests", "clients");

    /// <summary>Runs <c>node script baseUrl args...</c>; fails the test with the script's whole output unless it exits 0 with ok: true.</summary>
    public static async Task<JsonElement> RunAsync(Uri serverAddress, string script, params string[] args)
    {
        await InstallAsync();
        var baseUrl = new Uri(serverAddress, "/v1").ToString();
        var (exit, output) = await RepoRoot.RunAsync("node", [script, baseUrl, .. args], Directory, TimeSpan.FromMinutes(2));
        Assert.True(exit == 0, $"node {script} {baseUrl} {string.Join(' ', args)} exited {exit}:\n{output}");
        var line = output.Split('\n').LastOrDefault(l => l.StartsWith("{\"ok\":", StringComparison.Ordinal));
        Assert.True(line is not null, $"node {script} printed no result line:\n{output}");
        var result = JsonDocument.Parse(line).RootElement.Clone();
        Assert.True(result.GetProperty("ok").GetBoolean(), output);
        return result;
    }

    /// <summary><c>npm ci</c> once, unless node_modules was installed from this very lock (npm writes its copy there).</summary>
    private static async Task InstallAsync()
    {
        await InstallGate.WaitAsync();
        try
        {
            if (_installed)
            {
                return;
            }
            var installedLock = Path.Combine(Directory, "node_modules", ".package-lock.json");
            if (!File.Exists(installedLock) || File.GetLastWriteTimeUtc(installedLock) < File.GetLastWriteTimeUtc(Path.Combine(Directory, "package-lock.json")))
            {
                var (exit, log) = await RepoRoot.RunAsync("npm", "ci --no-audit --no-fund", Directory, TimeSpan.FromMinutes(5));
                Assert.True(exit == 0, "npm ci in tests/clients failed: " + log);
            }
            _installed = true;
        }
        finally
        {
            InstallGate.Release();
        }
    }
}
