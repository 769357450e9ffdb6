using System.Text.Json;

namespace Qwen.Server.Tests.Playground;

/// <summary>
/// Proves the browser-test chain end to end before the playground page exists: Playwright's driver, Debian's headless
/// Chromium and the real server (tiny model, Kestrel on loopback) talking over a socket.
/// </summary>
[Collection(BrowserCollection.Name)]
public sealed class BrowserSmokeTests(BrowserFixture browser, ServerFixture server) : IClassFixture<ServerFixture>
{
    // Reads the SSE body the way a page does (fetch, a stream reader, a TextDecoder that keeps split UTF-8 sequences) and
    // returns choice 0's content deltas, concatenated.
    private const string StreamContentScript = """
        async body => {
          const response = await fetch('/v1/chat/completions', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body });
          if (!response.ok) throw new Error(`status ${response.status}: ${await response.text()}`);
          const reader = response.body.getReader();
          const decoder = new TextDecoder();
          let buffer = '', content = '', done = false;
          while (!done) {
            const read = await reader.read();
            done = read.done;
            buffer += done ? decoder.decode() : decoder.decode(read.value, { stream: true });
            const lines = buffer.split('\n');
            buffer = done ? '' : lines.pop();
            for (const line of lines) {
              if (!line.startsWith('data: ') || line === 'data: [DONE]') continue;
              content += JSON.parse(line.slice('data: '.length)).choices[0]?.delta?.content ?? '';
            }
          }
          return content;
        }
        """;

    [BrowserFact]
    public async Task ModelsJson_LoadedInChromium_NamesTheServedModel()
    {
        await using var tab = await browser.OpenPageAsync(BrowserViewport.Desktop);
        await AnswerFaviconAsync(tab);

        var response = await tab.Page.GotoAsync(new Uri(server.BaseAddress, "/v1/models").ToString());

        Assert.NotNull(response);
        Assert.Equal(200, response.Status);
        Assert.Contains("\"qwen2.5-tiny\"", await tab.Page.InnerTextAsync("body"), StringComparison.Ordinal);
        Assert.True(File.Exists(await BrowserFixture.SaveScreenshotAsync(tab.Page, "smoke-models")));
        tab.AssertNoConsoleErrors();
    }

    [BrowserFact]
    public async Task ChatStream_ReadByFetchInChromium_EqualsTheWholeAnswer()
    {
        // Greedy, so the streamed and the whole answer are the same tokens; the whole one comes over HttpClient, an
        // independent client and parser.
        static string Body(bool stream) => JsonSerializer.Serialize(new
        {
            messages = new[] { new { role = "user", content = "Tell me a story" } },
            temperature = 0,
            max_tokens = 8,
            stream,
        });
        var whole = await ChatAnswer.WholeAsync(server.Http, Body(stream: false));
        await using var tab = await browser.OpenPageAsync(BrowserViewport.Phone);
        await AnswerFaviconAsync(tab);
        await tab.Page.GotoAsync(new Uri(server.BaseAddress, "/v1/models").ToString()); // the fetch below is same-origin

        var streamed = await tab.Page.EvaluateAsync<string>(StreamContentScript, Body(stream: true));

        Assert.False(string.IsNullOrEmpty(whole.Content), whole.Raw);
        Assert.Equal(whole.Content, streamed);
        tab.AssertNoConsoleErrors();
    }

    // Chromium asks for /favicon.ico on a page that declares no icon (a JSON page cannot), at a time of its choosing, and
    // logs the server's 404 as a console error; answered here, so the console check stays strict and cannot race it.
    private static Task AnswerFaviconAsync(BrowserPage tab) =>
        tab.Page.RouteAsync("**/favicon.ico", route => route.FulfillAsync(new() { Status = 204 }));
}
