using System.Text.Json;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Qwen.Server.Tests.Playground;

/// <summary>
/// A function defined in the playground, a call forced with tool_choice, shown as it streams (name first, then its
/// arguments growing), and answered by hand with a tool result that the next request carries.
/// </summary>
[Collection(BrowserCollection.Name)]
public sealed class PlaygroundToolTests(BrowserFixture browser, PlaygroundServerFixture server) : IClassFixture<PlaygroundServerFixture>
{
    // Enums keep the random model's arguments short enough to read in a screenshot.
    private const string Tools = """
        [{"type": "function", "function": {"name": "get_weather", "description": "The current weather in a city.",
          "parameters": {"type": "object", "properties": {"city": {"type": "string", "enum": ["Paris", "Tokyo", "Lima"]},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}}, "required": ["city", "unit"]}}}]
        """;

    // Records the first tool call's name and arguments as shown, at every change of the conversation's DOM. The tiny
    // model writes a call in milliseconds, so its events reach the page in one network read and would be drawn once:
    // fetch's body is re-cut here into one SSE event per read, a task apart, as a model writing a token at a time sends
    // them. The page's own code is untouched.
    private const string RecordCallScript = """
        () => {
          const fetchWhole = window.fetch;
          window.fetch = async (...args) => {
            const response = await fetchWhole(...args);
            if (!response.body) return response;
            const reader = response.body.getReader();
            const body = new ReadableStream({
              async pull(controller) {
                const { done, value } = await reader.read();
                if (done) { controller.close(); return; }
                let start = 0;
                for (let i = 0; i + 1 < value.length; i++) {
                  if (value[i] === 10 && value[i + 1] === 10) {
                    controller.enqueue(value.slice(start, i + 2));
                    start = i + 2;
                    await new Promise(resolve => setTimeout(resolve, 5));
                  }
                }
                if (start < value.length) controller.enqueue(value.slice(start));
              }
            });
            return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
          };
          window.seenCalls = [];
          new MutationObserver(() => {
            const call = document.querySelector('#messages > li:last-child .tool-call');
            if (call) window.seenCalls.push([call.querySelector('.tool-name').textContent, call.querySelector('.tool-arguments').textContent]);
          }).observe(document.getElementById('messages'), { childList: true, subtree: true, characterData: true });
        }
        """;

    [BrowserFact]
    public async Task ForcedToolCall_ShownAsItForms_AnsweredByHand_ContinuesTheLoop()
    {
        await using var page = await PlaygroundPage.OpenAsync(browser, server.BaseAddress, BrowserViewport.Desktop);
        await page.FillAsync("Functions (JSON)", Tools);
        await page.Field("tool_choice").SelectOptionAsync("function:get_weather");
        await page.FillAsync("temperature", "0");
        await page.FillAsync("max_tokens", "64");
        await page.Page.EvaluateAsync(RecordCallScript);

        var sent = await page.SendAsync("What is the weather in Paris?");
        await Expect(page.Button("Send tool result")).ToBeVisibleAsync(new() { Timeout = PlaygroundPage.AnswerTimeout });

        Assert.Equal("function", sent.GetProperty("tool_choice").GetProperty("type").GetString());
        Assert.Equal("get_weather", sent.GetProperty("tool_choice").GetProperty("function").GetProperty("name").GetString());
        var reference = await ChatAnswer.WholeAsync(server.Http, JsonSerializer.Serialize(new
        {
            messages = new[] { new { role = "user", content = "What is the weather in Paris?" } },
            tools = JsonDocument.Parse(Tools).RootElement,
            tool_choice = new { type = "function", function = new { name = "get_weather" } },
            temperature = 0,
            max_tokens = 64,
        }));
        var (name, arguments) = Assert.Single(reference.Calls);
        var call = page.Answers.Last.Locator(".tool-call");
        await Expect(call.Locator(".tool-name")).ToHaveTextAsync($"{name}(…)");
        await Expect(call.Locator(".tool-arguments")).ToHaveTextAsync(arguments);
        await Expect(page.Figure("finish_reason")).ToHaveTextAsync("tool_calls");
        // Shown as it formed: the name before the arguments were whole, then the arguments in more than one step.
        var seen = (await page.Page.EvaluateAsync<string[][]>("() => window.seenCalls")).Select(s => (Name: s[0], Arguments: s[1])).Distinct().ToList();
        Assert.Contains(seen, s => s.Name == $"{name}(…)" && s.Arguments.Length < arguments.Length);
        Assert.True(seen.Count(s => s.Arguments.Length > 0 && s.Arguments.Length < arguments.Length) >= 2, string.Join(" | ", seen));
        await page.ScreenshotAsync("playground-tool-call");

        // Answered by hand, with tool_choice back to auto: the next request carries the call and its result.
        var callId = await call.GetAttributeAsync("data-call-id");
        Assert.StartsWith("call_", callId, StringComparison.Ordinal);
        await page.Page.GetByLabel($"Result of get_weather ({callId})").FillAsync("""{"temperature": 21, "unit": "celsius"}""");
        await page.Field("tool_choice").SelectOptionAsync("auto");
        await page.FillAsync("max_tokens", "6");
        var next = await page.SentAsync("/v1/chat/completions", () => page.Button("Send tool result").ClickAsync());
        await page.WaitForIdleAsync();

        var messages = next.GetProperty("messages").EnumerateArray().ToList();
        Assert.Equal(["user", "assistant", "tool"], messages.Select(m => m.GetProperty("role").GetString()));
        var sentCall = Assert.Single(messages[1].GetProperty("tool_calls").EnumerateArray());
        Assert.Equal((callId, name, arguments), (sentCall.GetProperty("id").GetString(), sentCall.GetProperty("function").GetProperty("name").GetString(), sentCall.GetProperty("function").GetProperty("arguments").GetString()));
        Assert.Equal(callId, messages[2].GetProperty("tool_call_id").GetString());
        Assert.Equal("""{"temperature": 21, "unit": "celsius"}""", messages[2].GetProperty("content").GetString());
        Assert.Equal("auto", next.GetProperty("tool_choice").GetString());

        // The loop goes on: the tool's result shown, then the answer the server gives that conversation.
        await Expect(page.Page.Locator("#messages > li[data-role=tool] .content")).ToHaveTextAsync("""{"temperature": 21, "unit": "celsius"}""");
        var after = await ChatAnswer.WholeAsync(server.Http, JsonSerializer.Serialize(new { messages = next.GetProperty("messages"), tools = next.GetProperty("tools"), tool_choice = "auto", temperature = 0, max_tokens = 6 }));
        Assert.Equal(after.Content, await page.LastAnswerTextAsync());
        await Expect(page.Figure("finish_reason")).ToHaveTextAsync(after.Finish!);
        page.Tab.AssertNoConsoleErrors();
    }
}
