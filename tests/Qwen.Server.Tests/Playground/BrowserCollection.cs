namespace Qwen.Server.Tests.Playground;

/// <summary>
/// The browser tests share one Chromium (<see cref="BrowserFixture"/>) for the whole collection rather than one per class:
/// its start is the dominant cost of a browser test (see the fixture), the page tests are split over several classes,
/// and the collection's classes run one after another, so at most one Chromium runs next to the other test collections on
/// a 2-core CI machine. Isolation comes from a new browser context per test, not from a new browser.
/// </summary>
[CollectionDefinition(Name)]
public sealed class BrowserCollection : ICollectionFixture<BrowserFixture>
{
    public const string Name = "Browser";
}
