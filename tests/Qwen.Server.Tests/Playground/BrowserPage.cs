using Microsoft.Playwright;

namespace Qwen.Server.Tests.Playground;

/// <summary>
/// One test's page in its own browser context, with what went wrong on it: console errors, uncaught exceptions and
/// requests that failed at the network level (an HTTP error status shows up as Chromium's console error "Failed to load
/// resource"). Dispose it to close the context. Events arrive on Playwright's thread, hence the lock.
/// </summary>
public sealed class BrowserPage : IAsyncDisposable
{
    private readonly Lock _lock = new();
    private readonly List<string> _consoleErrors = [];
    private readonly List<string> _failedRequests = [];

    private BrowserPage(IBrowserContext context, IPage page)
    {
        Context = context;
        Page = page;
        page.Console += (_, message) =>
        {
            if (message.Type == "error")
            {
                Record(_consoleErrors, $"console.error at {message.Location}: {message.Text}");
            }
        };
        page.PageError += (_, error) => Record(_consoleErrors, $"uncaught: {error}");
        page.RequestFailed += (_, request) => Record(_failedRequests, $"{request.Method} {request.Url}: {request.Failure}");
    }

    /// <summary>The context the page lives in (its own cookies and storage).</summary>
    public IBrowserContext Context { get; }

    /// <summary>The page to drive.</summary>
    public IPage Page { get; }

    /// <summary>The console errors and uncaught exceptions so far, in order.</summary>
    public IReadOnlyList<string> ConsoleErrors => Snapshot(_consoleErrors);

    /// <summary>The requests that failed so far (refused, aborted, DNS), in order.</summary>
    public IReadOnlyList<string> FailedRequests => Snapshot(_failedRequests);

    internal static async Task<BrowserPage> OpenAsync(IBrowserContext context)
    {
        // The listeners are attached before the test navigates, so errors of the first load are caught too.
        return new BrowserPage(context, await context.NewPageAsync());
    }

    /// <summary>Fails the test, listing every console error, uncaught exception and failed request, if there was any.</summary>
    public void AssertNoConsoleErrors()
    {
        var errors = ConsoleErrors;
        var failed = FailedRequests;
        if (errors.Count + failed.Count > 0)
        {
            Assert.Fail($"The page at {Page.Url} reported {errors.Count} console error(s) and {failed.Count} failed request(s):\n"
                + string.Join('\n', errors.Concat(failed).Select(line => "  " + line)));
        }
    }

    public async ValueTask DisposeAsync() => await Context.CloseAsync();

    private void Record(List<string> list, string line)
    {
        lock (_lock)
        {
            list.Add(line);
        }
    }

    private List<string> Snapshot(List<string> list)
    {
        lock (_lock)
        {
            return [.. list];
        }
    }
}
