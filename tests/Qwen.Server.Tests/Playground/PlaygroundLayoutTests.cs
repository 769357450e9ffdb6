using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Qwen.Server.Tests.Playground;

/// <summary>
/// The playground on a phone-width screen (one column, settings folded behind a button, nothing wider than the screen)
/// and by keyboard alone (every control labelled, Enter sends, Escape stops); the demo model's notice.
/// </summary>
[Collection(BrowserCollection.Name)]
public sealed class PlaygroundLayoutTests(BrowserFixture browser, PlaygroundServerFixture server) : IClassFixture<PlaygroundServerFixture>
{
    // Form controls with neither a <label> nor an aria-label, and buttons or links with no text: what a screen reader could not name.
    private const string UnnamedScript = """
        () => [...document.querySelectorAll('input, select, textarea')].filter(e => e.labels.length === 0 && !e.getAttribute('aria-label'))
          .concat([...document.querySelectorAll('button, a')].filter(e => !e.textContent.trim() && !e.getAttribute('aria-label')))
          .map(e => e.outerHTML)
        """;

    [BrowserFact]
    public async Task Phone_OneColumn_SettingsBehindAButton_NothingWiderThanTheScreen()
    {
        await using var page = await PlaygroundPage.OpenAsync(browser, server.BaseAddress, BrowserViewport.Phone);
        var toggle = page.Button("Settings");
        await Expect(page.Field("temperature")).ToBeHiddenAsync();
        await Expect(toggle).ToHaveAttributeAsync("aria-expanded", "false");
        await toggle.ClickAsync();
        await Expect(toggle).ToHaveAttributeAsync("aria-expanded", "true");
        await Expect(page.Field("temperature")).ToBeVisibleAsync();
        await page.FillAsync("temperature", "0");
        await page.FillAsync("max_tokens", "8");
        await toggle.ClickAsync();

        await page.ChatAsync("Hi from a phone");

        await Expect(page.Figure("completion_tokens")).ToHaveTextAsync(new System.Text.RegularExpressions.Regex("^[1-8]$"));
        Assert.True(await page.Page.EvaluateAsync<bool>("() => document.documentElement.scrollWidth <= window.innerWidth"), "the page scrolls sideways on a phone");
        var box = await page.Input.BoundingBoxAsync();
        Assert.True(box is { Width: > 300 and <= 390 }, $"message box {box?.Width} px wide on a 390 px screen");
        await page.ScreenshotAsync("playground-phone");
        page.Tab.AssertNoConsoleErrors();
    }

    [BrowserFact]
    public async Task Keyboard_EveryControlNamed_EnterSends_EscapeStops_DemoNoticeShown()
    {
        await using var page = await PlaygroundPage.OpenAsync(browser, server.BaseAddress, BrowserViewport.Desktop);
        Assert.Empty(await page.Page.EvaluateAsync<string[]>(UnnamedScript));
        await Expect(page.Page.GetByRole(AriaRole.Note)).ToContainTextAsync("qwen2.5-demo-tiny has random weights (preset \"tiny\"), so its text is meaningless");

        await page.FillAsync("temperature", "0");
        await page.FillAsync("max_tokens", "30000");
        await page.Input.FocusAsync();
        await page.SentAsync("/v1/chat/completions", () => page.Page.Keyboard.TypeAsync("Hello!\n"));
        await Expect(page.Answers.Last.Locator(".content")).ToHaveTextAsync(new System.Text.RegularExpressions.Regex(".{10}"), new() { Timeout = PlaygroundPage.AnswerTimeout });
        await page.Page.Keyboard.PressAsync("Escape");
        await page.WaitForIdleAsync();
        await Expect(page.Figure("finish_reason")).ToHaveTextAsync("stopped by you");
        await Expect(page.Messages.First).ToContainTextAsync("Hello!");
        page.AssertOnlyTheStoppedAnswerFailed();
    }
}
