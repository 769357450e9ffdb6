using Qwen.Server.Tests.Deploy;

namespace Qwen.Server.Tests.Hosting;

/// <summary>
/// <c>--help</c> and <c>-h</c> on the real process: exit 0 at once, nothing loaded, every flag and variable of the README's
/// settings table (the oracle, read from the README rather than from the code) listed with its default.
/// </summary>
public sealed class ServerUsageTests
{
    [Theory]
    [InlineData("--help")]
    [InlineData("-h")]
    public async Task Server_Help_ListsEveryReadmeSettingAndLoadsNothing(string flag)
    {
        await using var server = ServerProcess.Start([flag]);
        var exit = await server.WaitForExitAsync(TimeSpan.FromMinutes(2));

        Assert.True(exit == 0, $"exit {exit}:\n{server.AllOutput}");
        Assert.DoesNotContain(server.Stderr, l => l.Trim().Length > 0);
        Assert.DoesNotContain(server.Stdout, l => l.Contains("Serving", StringComparison.Ordinal) || l.Contains("Building the demo model", StringComparison.Ordinal));
        var rows = ReadmeSettingsRows();
        Assert.NotEmpty(rows);
        foreach (var (flagName, env, defaultValue) in rows)
        {
            Assert.Contains(server.Stdout, l => l.Contains($"{flagName} ({env}; default {defaultValue})", StringComparison.Ordinal));
        }
    }

    /// <summary>(flag, variable, default) of each row of the README's settings table.</summary>
    private static List<(string Flag, string Env, string Default)> ReadmeSettingsRows()
    {
        var lines = File.ReadAllLines(Path.Combine(RepoRoot.Path, "README.md"));
        var heading = Array.IndexOf(lines, "## Settings");
        return [.. lines.Skip(heading + 1).SkipWhile(l => !l.StartsWith('|')).TakeWhile(l => l.StartsWith('|')).Skip(2)
            .Select(l => l.Split(" | "))
            .Select(c => (c[1].Trim('`'), c[2].Trim('`'), c[3]))];
    }
}
