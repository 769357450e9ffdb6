using Qwen.Server.Hosting;
using Qwen.Server.Tests.Deploy;

namespace Qwen.Server.Tests.Hosting;

/// <summary>The README's settings table is ServerOptions.Settings, row by row, so the documentation cannot drift from the code.</summary>
public sealed class ReadmeSettingsTests
{
    [Fact]
    public void Readme_SettingsTable_IsServerOptionsSettingsRowByRow()
    {
        var lines = File.ReadAllLines(Path.Combine(RepoRoot.Path, "README.md"));
        var heading = Array.IndexOf(lines, "## Settings");
        Assert.True(heading >= 0, "README.md has no '## Settings' section");
        var table = lines.Skip(heading + 1).SkipWhile(l => !l.StartsWith('|')).TakeWhile(l => l.StartsWith('|')).ToList();
        Assert.Equal("| setting | flag | environment | default | meaning |", table[0]);
        Assert.Equal("|---|---|---|---|---|", table[1]);
        var expected = ServerOptions.Settings.Select(s => $"| {s.Key} | `{s.Flag}` | `{s.Env}` | {s.Default} | {s.Meaning} |").ToList();
        var rows = table.Skip(2).ToList();
        for (var i = 0; i < Math.Min(expected.Count, rows.Count); i++)
        {
            Assert.Equal(expected[i], rows[i]);
        }
        Assert.Equal(expected.Count, rows.Count);
    }
}
