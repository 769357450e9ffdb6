namespace Qwen.Server.Tests.Playground;

/// <summary>
/// A [Fact] for browser tests: skipped, with the install hint as its reason, where the Chromium executable is missing,
/// unless the environment variable CI is "true"; there the test runs and fails, so a CI machine without a browser
/// cannot pass by skipping. xunit 2 has no dynamic skip, so the reason is set when the attribute is constructed.
/// </summary>
public sealed class BrowserFactAttribute : FactAttribute
{
    public BrowserFactAttribute()
    {
        if (ChromiumExecutable.MissingReason() is { } reason && !ChromiumExecutable.IsCi)
        {
            Skip = reason;
        }
    }
}
