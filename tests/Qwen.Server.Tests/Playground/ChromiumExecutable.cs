namespace Qwen.Server.Tests.Playground;

/// <summary>
/// Where the browser tests find Chromium: <c>$CHROMIUM_PATH</c> if set, else Debian's package at /usr/bin/chromium.
/// Playwright's own browser download is never used (CI has no internet).
/// </summary>
internal static class ChromiumExecutable
{
    public const string InstallHint = "install Debian's chromium: apt-get install chromium";

    /// <summary>The executable the fixture launches.</summary>
    public static string Path =>
        Environment.GetEnvironmentVariable("CHROMIUM_PATH") is { Length: > 0 } path ? path : "/usr/bin/chromium";

    /// <summary>True where the environment variable CI is "true": a missing browser then fails the tests instead of skipping them.</summary>
    public static bool IsCi => string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);

    /// <summary>Why the browser tests cannot run here, or null when the executable exists.</summary>
    public static string? MissingReason() =>
        File.Exists(Path) ? null : $"Chromium not found at {Path} (set CHROMIUM_PATH to use another): {InstallHint}";
}
