using System.Net;
using System.Text;
using System.Text.Json;
using static Microsoft.Playwright.Assertions;

namespace Qwen.Server.Tests.Playground;

/// <summary>A request the server refuses (400) shown as a readable message that names the field, and recovered from.</summary>
[Collection(BrowserCollection.Name)]
public sealed class PlaygroundErrorTests(BrowserFixture browser, PlaygroundServerFixture server) : IClassFixture<PlaygroundServerFixture>
{
    [BrowserFact]
    public async Task BadTemperature_400ShownWithItsFieldAndMessage_FixedAndRegenerated()
    {
        await using var page = await PlaygroundPage.OpenAsync(browser, server.BaseAddress, BrowserViewport.Desktop);
        await page.FillAsync("temperature", "5");
        await page.FillAsync("max_tokens", "4");

        await page.SendAsync("Hello!");
        await page.WaitForIdleAsync();

        // The server's own error for the same request, asked here.
        using var refused = await server.Http.PostAsync(new Uri("/v1/chat/completions", UriKind.Relative), new StringContent(
            """{"messages":[{"role":"user","content":"Hello!"}],"temperature":5,"max_tokens":4}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        var error = JsonDocument.Parse(await refused.Content.ReadAsStringAsync()).RootElement.GetProperty("error");
        Assert.Equal("temperature", error.GetProperty("param").GetString());
        await Expect(page.Error).ToBeVisibleAsync();
        await Expect(page.Error).ToHaveTextAsync($"HTTP 400 · {error.GetProperty("type").GetString()} · field temperature: {error.GetProperty("message").GetString()}");
        await Expect(page.Answers).ToHaveCountAsync(0); // no empty answer left behind; the question stays
        await Expect(page.Messages).ToHaveCountAsync(1);
        await page.ScreenshotAsync("playground-error");

        await page.FillAsync("temperature", "0");
        await page.Button("Regenerate").ClickAsync();
        await page.WaitForIdleAsync();
        await Expect(page.Error).ToBeHiddenAsync();
        await Expect(page.Figure("finish_reason")).ToHaveTextAsync(new System.Text.RegularExpressions.Regex("^(stop|length)$"));
        // Chromium logs the 400 as a failed resource load; nothing else went wrong on the page.
        Assert.All(page.Tab.ConsoleErrors, e => Assert.Contains("status of 400", e, StringComparison.Ordinal));
        Assert.Empty(page.Tab.FailedRequests);
    }
}
