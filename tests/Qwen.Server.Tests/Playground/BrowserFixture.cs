using Microsoft.Playwright;

namespace Qwen.Server.Tests.Playground;

/// <summary>
/// Playwright's driver and one headless Chromium (Debian's package, see <see cref="ChromiumExecutable"/>) for the
/// <see cref="BrowserCollection"/>; each test opens its own <see cref="BrowserPage"/> (a fresh context, so storage and
/// cookies start empty). The collection's tests run one at a time, so the browser is never driven concurrently.
/// </summary>
public sealed class BrowserFixture : IAsyncLifetime
{
    // The closed network refuses Chromium's background connections (safe browsing, component and variations updates,
    // sync), many at a time; these flags keep it from trying. Even with them it still looked up update.googleapis.com
    // and accounts.google.com (strace: 20 DNS queries in a run of the two smoke tests), so every name but the loopback
    // resolves to "not found" inside Chromium: nothing leaves the machine, and a page that pulls a CDN asset fails the
    // same way on a laptop as in CI (a failed request, see BrowserPage). No sandbox: CI runs as root in a container,
    // where Chromium's sandbox cannot start. No GPU: there is none, and probing for it only adds start time.
    private static readonly string[] Flags =
    [
        "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync",
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
    ];

    private IPlaywright? _playwright;
    private IBrowser? _browser;

    public async Task InitializeAsync()
    {
        if (ChromiumExecutable.MissingReason() is { } reason)
        {
            // Outside CI the tests are skipped by [BrowserFact] and never ask for a page; in CI they must fail, loudly.
            if (ChromiumExecutable.IsCi)
            {
                throw new InvalidOperationException($"{reason}. CI is \"true\", so the browser tests fail instead of being skipped.");
            }
            return;
        }
        // Playwright's 5 s default for an expectation is tight for a model's answer on a busy 2-core CI machine.
        Assertions.SetDefaultExpectTimeout(30_000);
        _playwright = await Playwright.CreateAsync();
        _browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumExecutable.Path,
            Headless = true,
            Args = Flags,
            // Playwright's 30 s default is tight for a cold Chromium on a busy 2-core CI machine.
            Timeout = 60_000,
        });
    }

    /// <summary>Opens a page in a new, empty browser context of the given size; dispose it to close both.</summary>
    public async Task<BrowserPage> OpenPageAsync(BrowserViewport viewport)
    {
        ArgumentNullException.ThrowIfNull(viewport);
        var browser = _browser ?? throw new InvalidOperationException(
            $"{ChromiumExecutable.MissingReason() ?? "Chromium was not launched"}; mark browser tests [BrowserFact] so they are skipped here.");
        var context = await browser.NewContextAsync(new BrowserNewContextOptions
        {
            ViewportSize = new ViewportSize { Width = viewport.Width, Height = viewport.Height },
            IsMobile = viewport.IsMobile,
            HasTouch = viewport.IsMobile,
        });
        return await BrowserPage.OpenAsync(context);
    }

    /// <summary>
    /// Saves a full-page screenshot as <c>name.png</c> in <c>$PLAYGROUND_SCREENSHOT_DIR</c> (created if needed), else in
    /// screenshots/ next to the test assembly, and returns its path.
    /// </summary>
    public static async Task<string> SaveScreenshotAsync(IPage page, string name)
    {
        ArgumentNullException.ThrowIfNull(page);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        if (name.IndexOfAny(['/', '\\']) >= 0)
        {
            throw new ArgumentException($"`name` must be a file name without a directory (given \"{name}\").", nameof(name));
        }
        var directory = Environment.GetEnvironmentVariable("PLAYGROUND_SCREENSHOT_DIR") is { Length: > 0 } dir
            ? dir
            : Path.Combine(AppContext.BaseDirectory, "screenshots");
        Directory.CreateDirectory(directory);
        var path = Path.GetFullPath(Path.Combine(directory, name + ".png"));
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = path, FullPage = true });
        return path;
    }

    public async Task DisposeAsync()
    {
        if (_browser is not null)
        {
            await _browser.CloseAsync();
        }
        _playwright?.Dispose();
    }
}
