using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Qwen.Server.Tests.Playground;

/// <summary>
/// The playground's chat in headless Chromium against the real server: a streamed answer and its figures, stop mid-stream,
/// the conversation kept over a reload and exported, and the rendered prompt. Each answer the page shows is checked
/// against the same request sent by the test over HttpClient (greedy, so both are the same tokens).
/// </summary>
[Collection(BrowserCollection.Name)]
public sealed class PlaygroundChatTests(BrowserFixture browser, PlaygroundServerFixture server) : IClassFixture<PlaygroundServerFixture>
{
    [BrowserFact]
    public async Task StreamedChat_ShowsTheGreedyAnswer_AndItsFigures()
    {
        await using var page = await PlaygroundPage.OpenAsync(browser, server.BaseAddress, BrowserViewport.Desktop);
        await page.FillAsync("System prompt", "You are terse.");
        await page.FillAsync("temperature", "0");
        await page.FillAsync("max_tokens", "12");
        await page.FillAsync("seed", "7");
        await page.FillAsync("stop (one per line)", "zzz\nyyy");

        var sent = await page.ChatAsync("Hello!");

        // What the page asked for: a stream with usage, the conversation, the fields filled in, typed, and nothing else.
        Assert.True(sent.GetProperty("stream").GetBoolean());
        Assert.True(sent.GetProperty("stream_options").GetProperty("include_usage").GetBoolean());
        Assert.Equal(0, sent.GetProperty("temperature").GetDouble());
        Assert.Equal(12, sent.GetProperty("max_tokens").GetInt32());
        Assert.Equal(7, sent.GetProperty("seed").GetInt32());
        Assert.Equal(["zzz", "yyy"], sent.GetProperty("stop").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(["max_tokens", "messages", "model", "seed", "stop", "stream", "stream_options", "temperature"], sent.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal));
        var messages = new object[] { new { role = "system", content = "You are terse." }, new { role = "user", content = "Hello!" } };
        Assert.Equal(JsonSerializer.Serialize(messages), sent.GetProperty("messages").GetRawText());

        var reference = await Whole(new { messages, temperature = 0, max_tokens = 12, seed = 7, stop = new[] { "zzz", "yyy" } });
        Assert.Equal(reference.Content, await page.LastAnswerTextAsync());
        var usage = JsonDocument.Parse(reference.Raw).RootElement.GetProperty("usage");
        var completion = usage.GetProperty("completion_tokens").GetInt32();
        await Expect(page.Figure("prompt_tokens")).ToHaveTextAsync(usage.GetProperty("prompt_tokens").GetInt32().ToString(CultureInfo.InvariantCulture));
        await Expect(page.Figure("completion_tokens")).ToHaveTextAsync(completion.ToString(CultureInfo.InvariantCulture));
        await Expect(page.Figure("finish_reason")).ToHaveTextAsync(reference.Finish!);
        await Expect(page.Figure("ttft")).ToHaveTextAsync(new Regex("^[0-9]+ ms$"));
        await Expect(page.Figure("tokens_per_second")).ToHaveTextAsync(new Regex("^[0-9]+\\.[0-9]$"));
        await Expect(page.Page.GetByRole(AriaRole.Status)).ToHaveTextAsync($"Answer finished: {completion} tokens, {reference.Finish}.");
        await page.ScreenshotAsync("playground-chat");
        page.Tab.AssertNoConsoleErrors();
    }

    [BrowserFact]
    public async Task Stop_MidStream_KeepsWhatCame_AndFreesTheSlot()
    {
        await using var page = await PlaygroundPage.OpenAsync(browser, server.BaseAddress, BrowserViewport.Desktop);
        await page.FillAsync("temperature", "0");
        await page.FillAsync("max_tokens", "30000"); // the demo's greedy reply to it runs to max_tokens: half a minute of tokens

        await page.SendAsync("Hello!");
        await Expect(page.Answers.Last.Locator(".content")).ToHaveTextAsync(new Regex(".{20}"), new() { Timeout = PlaygroundPage.AnswerTimeout });
        await page.Button("Stop").ClickAsync();
        await page.WaitForIdleAsync();

        await Expect(page.Figure("finish_reason")).ToHaveTextAsync("stopped by you");
        var partial = await page.LastAnswerTextAsync();
        // The server saw the client go and ended the sequence: nothing runs, while a whole answer would run on for seconds.
        await WaitForIdleServerAsync();
        // What came is the start of the greedy answer (asked again here a little longer than what the page had).
        var reference = await Whole(new { messages = new[] { new { role = "user", content = "Hello!" } }, temperature = 0, max_tokens = server.Model.Tokenizer.Encode(partial).Length + 8 });
        Assert.StartsWith(partial, reference.Content, StringComparison.Ordinal);
        Assert.NotEqual(reference.Content, partial);

        await page.Page.ReloadAsync(); // a stopped answer is kept like a finished one
        await page.WaitForModelAsync();
        Assert.Equal(partial, await page.LastAnswerTextAsync());
        page.AssertOnlyTheStoppedAnswerFailed();
    }

    [BrowserFact]
    public async Task Reload_KeepsTheConversationAndSettings_ExportIsARequestBody()
    {
        await using var page = await PlaygroundPage.OpenAsync(browser, server.BaseAddress, BrowserViewport.Desktop);
        await page.FillAsync("System prompt", "Be brief.");
        await page.FillAsync("temperature", "0");
        await page.FillAsync("max_tokens", "5");
        await page.ChatAsync("First question");
        await page.ChatAsync("Second question");
        var shown = await page.ConversationAsync();
        Assert.Equal(4, shown.Count);

        await page.Page.ReloadAsync();
        await page.WaitForModelAsync();

        Assert.Equal(shown, await page.ConversationAsync());
        await Expect(page.Field("System prompt")).ToHaveValueAsync("Be brief.");
        await Expect(page.Field("temperature")).ToHaveValueAsync("0");

        // Regenerate asks for the last answer again: the same conversation up to the last question, the answer replaced
        // (greedy, so by the same text).
        var texts = await page.Messages.Locator(".content").AllTextContentsAsync();
        var again = await page.SentAsync("/v1/chat/completions", () => page.Button("Regenerate").ClickAsync());
        await page.WaitForIdleAsync();
        Assert.Equal(["system", "user", "assistant", "user"], again.GetProperty("messages").EnumerateArray().Select(m => m.GetProperty("role").GetString()));
        Assert.Equal(texts, await page.Messages.Locator(".content").AllTextContentsAsync());

        var download = await page.Page.RunAndWaitForDownloadAsync(() => page.Button("Export JSON").ClickAsync());
        Assert.Equal("conversation.json", download.SuggestedFilename);
        using var exported = JsonDocument.Parse(await File.ReadAllTextAsync((await download.PathAsync())!));
        var body = exported.RootElement;
        Assert.Equal(["system", "user", "assistant", "user", "assistant"], body.GetProperty("messages").EnumerateArray().Select(m => m.GetProperty("role").GetString()));
        var answers = await page.Answers.Locator(".content").AllTextContentsAsync();
        Assert.Equal(answers, body.GetProperty("messages").EnumerateArray().Where(m => m.GetProperty("role").GetString() == "assistant").Select(m => m.GetProperty("content").GetString()));
        // The export is a request the server takes as it is: it asks for the next answer.
        using var replay = await server.Http.PostAsync(new Uri("/v1/chat/completions", UriKind.Relative), new StringContent(body.GetRawText(), System.Text.Encoding.UTF8, "application/json"));
        Assert.True(replay.IsSuccessStatusCode, await replay.Content.ReadAsStringAsync());

        await page.Button("New chat").ClickAsync();
        await Expect(page.Messages).ToHaveCountAsync(0);
        await page.Page.ReloadAsync();
        await page.WaitForModelAsync();
        await Expect(page.Messages).ToHaveCountAsync(0);
        page.Tab.AssertNoConsoleErrors();
    }

    [BrowserFact]
    public async Task ViewPrompt_ShowsTheChatMlTheModelReads_AndTheCountTheAnswerReports()
    {
        await using var page = await PlaygroundPage.OpenAsync(browser, server.BaseAddress, BrowserViewport.Desktop);
        await page.FillAsync("System prompt", "You are terse.");
        await page.Input.FillAsync("How many tokens is this?");

        await page.Button("View prompt").ClickAsync();

        var dialog = page.Page.GetByRole(AriaRole.Dialog);
        await Expect(dialog).ToBeVisibleAsync();
        // Qwen2.5's ChatML, written out here by hand.
        await Expect(dialog.Locator("pre")).ToHaveTextAsync(
            "<|im_start|>system\nYou are terse.<|im_end|>\n<|im_start|>user\nHow many tokens is this?<|im_end|>\n<|im_start|>assistant\n");
        var count = int.Parse(Regex.Match(await page.Page.Locator("#prompt-count").TextContentAsync() ?? "", "^([0-9]+) tokens").Groups[1].Value, CultureInfo.InvariantCulture);
        await page.ScreenshotAsync("playground-prompt");
        await page.Page.Keyboard.PressAsync("Escape");
        await Expect(dialog).ToBeHiddenAsync();

        // The draft is still there; sent, the answer's prompt_tokens is the count the panel gave.
        await page.FillAsync("max_tokens", "2");
        await page.Input.PressAsync("Enter");
        await page.WaitForIdleAsync();
        await Expect(page.Figure("prompt_tokens")).ToHaveTextAsync(count.ToString(CultureInfo.InvariantCulture));
        page.Tab.AssertNoConsoleErrors();
    }

    private Task<ChatAnswer> Whole(object body) => ChatAnswer.WholeAsync(server.Http, JsonSerializer.Serialize(body));

    private async Task WaitForIdleServerAsync()
    {
        var until = DateTime.UtcNow.AddSeconds(10);
        JsonElement ready;
        do
        {
            ready = await server.Http.GetFromJsonAsync<JsonElement>("/health/ready");
        }
        while ((ready.GetProperty("running").GetInt32() > 0 || ready.GetProperty("kv_slots_used").GetInt32() > 0) && DateTime.UtcNow < until && await Delay());
        Assert.Equal((0, 0), (ready.GetProperty("running").GetInt32(), ready.GetProperty("kv_slots_used").GetInt32()));

        static async Task<bool> Delay()
        {
            await Task.Delay(100);
            return true;
        }
    }
}
