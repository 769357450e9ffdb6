using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Qwen.Server.Tests.Playground;

/// <summary>
/// The playground on a server with --api-keys: it asks for a key, says plainly when one is refused, keeps the accepted
/// one in the tab's sessionStorage (never localStorage) and sends it as a bearer token; a new tab asks again.
/// </summary>
[Collection(BrowserCollection.Name)]
public sealed class PlaygroundApiKeyTests(BrowserFixture browser, KeyedPlaygroundServerFixture server) : IClassFixture<KeyedPlaygroundServerFixture>
{
    [BrowserFact]
    public async Task NoKey_Asked_WrongKey_Refused_RightKey_Chats()
    {
        await using var page = await PlaygroundPage.OpenAsync(browser, server.BaseAddress, BrowserViewport.Desktop, waitForModel: false);
        var panel = page.Page.GetByRole(AriaRole.Region, new() { Name = "API key" });
        var message = page.Page.Locator("#key-message");
        await Expect(panel).ToBeVisibleAsync();
        await Expect(message).ToContainTextAsync("This server needs an API key (401:");
        await page.ScreenshotAsync("playground-api-key");

        await page.FillAsync("Key (kept in this tab only, in sessionStorage)", "sk-wrong");
        await page.Button("Use key").ClickAsync();
        await Expect(message).ToContainTextAsync("The server refused this key (401:");
        await Expect(panel).ToBeVisibleAsync();

        await page.FillAsync("Key (kept in this tab only, in sessionStorage)", KeyedPlaygroundServerFixture.Key);
        await page.Button("Use key").ClickAsync();
        await page.WaitForModelAsync();
        await Expect(panel).ToBeHiddenAsync();
        Assert.Equal(KeyedPlaygroundServerFixture.Key, await page.Page.EvaluateAsync<string>("() => sessionStorage.getItem('qwen-playground-api-key')"));

        await page.FillAsync("max_tokens", "3");
        await page.SentAsync("/v1/chat/completions", () => page.Input.PressSequentiallyAsync("Hi\n"), authorization: $"Bearer {KeyedPlaygroundServerFixture.Key}");
        await page.WaitForIdleAsync();
        await Expect(page.Figure("finish_reason")).ToHaveTextAsync(new System.Text.RegularExpressions.Regex("^(stop|length)$"));
        var stored = await page.Page.EvaluateAsync<string>("() => JSON.stringify({ ...localStorage })");
        Assert.DoesNotContain(KeyedPlaygroundServerFixture.Key, stored, StringComparison.Ordinal);
        // Only the refused calls (401) were errors on the page.
        Assert.All(page.Tab.ConsoleErrors, e => Assert.Contains("status of 401", e, StringComparison.Ordinal));

        // Another tab (a new browser context) has no key: it asks again.
        await using var other = await PlaygroundPage.OpenAsync(browser, server.BaseAddress, BrowserViewport.Desktop, waitForModel: false);
        await Expect(other.Page.Locator("#key-message")).ToContainTextAsync("This server needs an API key (401:");
    }
}
