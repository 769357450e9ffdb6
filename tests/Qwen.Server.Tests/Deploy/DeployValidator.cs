using System.Text.Json;

namespace Qwen.Server.Tests.Deploy;

/// <summary>Runs deploy/validate/validate.mjs (installing its npm packages once) and returns its exit code and report.</summary>
internal static class DeployValidator
{
    private static readonly SemaphoreSlim NpmGate = new(1, 1);

    /// <summary>validate.mjs with <paramref name="args"/>: flags (--merge, --json) and files.</summary>
    public static async Task<(int Exit, string Output)> RunAsync(IEnumerable<string> args)
    {
        var dir = Path.Combine(RepoRoot.Path, "deploy", "validate");
        await NpmGate.WaitAsync();
        try
        {
            using var package = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(dir, "package.json")));
            if (package.RootElement.GetProperty("dependencies").EnumerateObject().Any(d => !Directory.Exists(Path.Combine(dir, "node_modules", d.Name))))
            {
                var (exit, log) = await RepoRoot.RunAsync("npm", "ci --no-audit --no-fund", dir, TimeSpan.FromMinutes(5));
                Assert.True(exit == 0, "npm ci failed: " + log);
            }
        }
        finally
        {
            NpmGate.Release();
        }
        return await RepoRoot.RunAsync("node", args.Prepend("validate.mjs"), dir, TimeSpan.FromMinutes(2));
    }

    /// <summary>The compose model of <paramref name="files"/> merged in order (as <c>docker compose -f a -f b</c>), interpolated with no variables set; fails if it is invalid.</summary>
    public static async Task<JsonElement> ComposeModelAsync(params string[] files)
    {
        var (exit, output) = await RunAsync(["--merge", "--json", .. files]);
        Assert.True(exit == 0, output);
        var line = Assert.Single(output.Split('\n'), l => l.StartsWith("MODEL ", StringComparison.Ordinal));
        return JsonDocument.Parse(line["MODEL ".Length..]).RootElement;
    }
}
