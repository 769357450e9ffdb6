using System.Text.Json;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Qwen.Server.Tests.Playground;

/// <summary>
/// The playground in a browser tab, driven as a person drives it: fields found by their labels, buttons by their names,
/// and what the page shows read back from the conversation. Also what the page sent, for checks of the requests.
/// </summary>
public sealed class PlaygroundPage : IAsyncDisposable
{
    /// <summary>How long an answer of the tiny model may take on a busy 2-core machine.</summary>
    public static readonly float AnswerTimeout = 60_000;

    private PlaygroundPage(BrowserPage tab) => Tab = tab;

    /// <summary>The tab, with its console and failed-request records.</summary>
    public BrowserPage Tab { get; }

    /// <summary>The page.</summary>
    public IPage Page => Tab.Page;

    /// <summary>The message box.</summary>
    public ILocator Input => Page.GetByLabel("Message", new() { Exact = true });

    /// <summary>The conversation's messages, in order.</summary>
    public ILocator Messages => Page.Locator("#messages > li");

    /// <summary>The assistant's messages, in order.</summary>
    public ILocator Answers => Page.Locator("#messages > li[data-role=assistant]");

    /// <summary>The page's error line.</summary>
    public ILocator Error => Page.Locator("#error");

    /// <summary>Opens the page on <paramref name="server"/>; with <paramref name="waitForModel"/>, until it has read the model card.</summary>
    public static async Task<PlaygroundPage> OpenAsync(BrowserFixture browser, Uri server, BrowserViewport viewport, bool waitForModel = true)
    {
        ArgumentNullException.ThrowIfNull(browser);
        var page = new PlaygroundPage(await browser.OpenPageAsync(viewport));
        await page.Page.GotoAsync(server.ToString());
        if (waitForModel)
        {
            await page.WaitForModelAsync();
        }
        return page;
    }

    /// <summary>Waits until the header shows the model card.</summary>
    public Task WaitForModelAsync() => Expect(Page.Locator("#model-line")).ToContainTextAsync("tokens of context");

    /// <summary>A button by its exact name.</summary>
    public ILocator Button(string name) => Page.GetByRole(AriaRole.Button, new() { Name = name, Exact = true });

    /// <summary>The form control labelled <paramref name="label"/> exactly.</summary>
    public ILocator Field(string label) => Page.GetByLabel(label, new() { Exact = true });

    /// <summary>Fills the form control labelled <paramref name="label"/>.</summary>
    public Task FillAsync(string label, string value) => Field(label).FillAsync(value);

    /// <summary>The figure <paramref name="name"/> (ttft, tokens_per_second, prompt_tokens, completion_tokens, finish_reason) of the last answer.</summary>
    public ILocator Figure(string name) => Answers.Last.Locator($"[data-figure={name}]");

    /// <summary>The text of the last answer.</summary>
    public Task<string> LastAnswerTextAsync() => Answers.Last.Locator(".content").TextContentAsync()!;

    /// <summary>Runs <paramref name="action"/> and returns the body of the request to <paramref name="path"/> it made.</summary>
    public async Task<JsonElement> SentAsync(string path, Func<Task> action, string? authorization = null)
    {
        ArgumentNullException.ThrowIfNull(action);
        var request = await Page.RunAndWaitForRequestAsync(action, r => r.Method == "POST" && new Uri(r.Url).AbsolutePath == path, new() { Timeout = AnswerTimeout });
        if (authorization is not null)
        {
            Assert.Equal(authorization, await request.HeaderValueAsync("authorization"));
        }
        return JsonDocument.Parse(request.PostData!).RootElement.Clone();
    }

    /// <summary>Types <paramref name="text"/> and presses Enter; returns the chat request the page sent.</summary>
    public Task<JsonElement> SendAsync(string text) => SentAsync("/v1/chat/completions", async () =>
    {
        await Input.FillAsync(text);
        await Input.PressAsync("Enter");
    });

    /// <summary>Waits until no answer is being written (the Stop button is gone, Send is back).</summary>
    public async Task WaitForIdleAsync()
    {
        await Expect(Button("Stop")).ToBeHiddenAsync(new() { Timeout = AnswerTimeout });
        await Expect(Button("Send")).ToBeVisibleAsync();
    }

    /// <summary>Sends <paramref name="text"/> and waits for the whole answer; returns the request the page sent.</summary>
    public async Task<JsonElement> ChatAsync(string text)
    {
        var sent = await SendAsync(text);
        await WaitForIdleAsync();
        return sent;
    }

    /// <summary>Every message as "role: text" (tool calls included), in order.</summary>
    public async Task<IReadOnlyList<string>> ConversationAsync()
        => [.. (await Messages.AllInnerTextsAsync()).Select(t => t.Trim())];

    /// <summary>Fails unless the page's only trouble was the chat request that Stop aborted (Chromium reports it as failed).</summary>
    public void AssertOnlyTheStoppedAnswerFailed()
    {
        Assert.Empty(Tab.ConsoleErrors);
        Assert.All(Tab.FailedRequests, f => Assert.EndsWith("/v1/chat/completions: net::ERR_ABORTED", f, StringComparison.Ordinal));
    }

    /// <summary>Saves a screenshot of the page as <paramref name="name"/>.png (see <see cref="BrowserFixture.SaveScreenshotAsync"/>).</summary>
    public Task<string> ScreenshotAsync(string name) => BrowserFixture.SaveScreenshotAsync(Page, name);

    public ValueTask DisposeAsync() => Tab.DisposeAsync();
}
