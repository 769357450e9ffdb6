using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace Qwen.Server.Tests.Streaming;

/// <summary>Exact tool-call and stop-string behaviour end to end: the scripted runner makes the model write chosen text.</summary>
public sealed class ScriptedOutputTests(ScriptedServerFixture server) : IClassFixture<ScriptedServerFixture>
{
    private const string Tools = """[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}}]""";

    [Fact]
    public async Task ToolCall_StreamedAndWhole_SameCallsNoMarkupFinishToolCalls()
    {
        server.Script("key-tool-1", "Let me check.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Zürich\"}}\n</tool_call>\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"東京\"}}\n</tool_call>");
        var body = """{"messages":[{"role":"user","content":"key-tool-1"}],"tools":""" + Tools + "}";
        var whole = await Json(body);
        var message = whole.GetProperty("choices")[0].GetProperty("message");
        Assert.Equal("tool_calls", whole.GetProperty("choices")[0].GetProperty("finish_reason").GetString());
        Assert.Equal("Let me check.", message.GetProperty("content").GetString());
        var calls = message.GetProperty("tool_calls").EnumerateArray().ToList();
        Assert.Equal(["{\"city\": \"Zürich\"}", "{\"city\": \"東京\"}"], calls.Select(c => c.GetProperty("function").GetProperty("arguments").GetString()));
        Assert.All(calls, c => Assert.Equal("get_weather", c.GetProperty("function").GetProperty("name").GetString()));
        Assert.All(calls, c => Assert.StartsWith("call_", c.GetProperty("id").GetString(), StringComparison.Ordinal));

        var (content, streamedCalls, finish, _) = await Stream(body[..^1] + ",\"stream\":true}");
        Assert.Equal("Let me check.", content);
        Assert.Equal(calls.Select(c => c.GetProperty("function").GetProperty("arguments").GetString()), streamedCalls.Select(c => c.Arguments));
        Assert.Equal("tool_calls", finish);
        Assert.DoesNotContain("tool_call>", content, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ToolChoiceNamed_ModelWritesOnlyTheArguments_ParsedAsThatCall()
    {
        // With a named tool_choice the server opens the call itself; the model writes only the arguments onwards.
        server.Script("key-named", "{\"city\": \"Oslo\"}}\n</tool_call>");
        var whole = await Json("""{"messages":[{"role":"user","content":"key-named"}],"tools":""" + Tools + ""","tool_choice":{"type":"function","function":{"name":"get_weather"}}}""");
        var call = whole.GetProperty("choices")[0].GetProperty("message").GetProperty("tool_calls")[0].GetProperty("function");
        Assert.Equal("get_weather", call.GetProperty("name").GetString());
        Assert.Equal("{\"city\": \"Oslo\"}", call.GetProperty("arguments").GetString());
    }

    [Fact]
    public async Task StopString_SpanningTokens_NeverLeaksStreamedOrWhole()
    {
        server.Script("key-stop", "alpha beta gamma END-OF-TEXT delta");
        const string body = """{"messages":[{"role":"user","content":"key-stop"}],"stop":["OF-TE"],"max_tokens":30}""";
        var whole = await Json(body);
        Assert.Equal("alpha beta gamma END-", whole.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString());
        Assert.Equal("stop", whole.GetProperty("choices")[0].GetProperty("finish_reason").GetString());
        var (content, _, finish, _) = await Stream(body[..^1] + ",\"stream\":true}");
        Assert.Equal("alpha beta gamma END-", content);
        Assert.Equal("stop", finish);
    }

    [Fact]
    public async Task Sse_Framing_RoleFirstDeltasFinishUsageThenDone()
    {
        server.Script("key-sse", "one two three");
        using var response = await server.Http.SendAsync(server.Post("/v1/chat/completions", """{"messages":[{"role":"user","content":"key-sse"}],"stream":true,"stream_options":{"include_usage":true}}"""), HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType!.MediaType);
        var raw = await response.Content.ReadAsStringAsync();
        Assert.EndsWith("data: [DONE]\n\n", raw, StringComparison.Ordinal);
        var events = raw.Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.All(events, e => Assert.StartsWith("data: ", e, StringComparison.Ordinal));
        var chunks = events[..^1].Select(e => JsonDocument.Parse(e["data: ".Length..]).RootElement).ToList();
        Assert.Equal("assistant", chunks[0].GetProperty("choices")[0].GetProperty("delta").GetProperty("role").GetString());
        Assert.All(chunks, c => Assert.Equal("chat.completion.chunk", c.GetProperty("object").GetString()));
        var usage = chunks[^1];
        Assert.Empty(usage.GetProperty("choices").EnumerateArray());
        Assert.Equal(4, usage.GetProperty("usage").GetProperty("completion_tokens").GetInt32()); // 3 words + <|im_end|>
        Assert.Equal("stop", chunks[^2].GetProperty("choices")[0].GetProperty("finish_reason").GetString());
        var text = string.Concat(chunks.Skip(1).SkipLast(2).Select(c => c.GetProperty("choices")[0].GetProperty("delta").GetProperty("content").GetString()));
        Assert.Equal("one two three", text);
        Assert.True(chunks.Count - 3 >= 3, "content must arrive token by token, not buffered"); // one chunk per word token
    }

    [Fact]
    public async Task Disconnect_MidStream_FreesTheSlot()
    {
        server.Script("key-long", string.Join(" ", Enumerable.Repeat("tick", 200)));
        server.Runner.StepDelay = TimeSpan.FromMilliseconds(5);
        try
        {
            using var cts = new CancellationTokenSource();
            using var response = await server.Http.SendAsync(server.Post("/v1/chat/completions", """{"messages":[{"role":"user","content":"key-long"}],"stream":true,"max_tokens":300}"""), HttpCompletionOption.ResponseHeadersRead, cts.Token);
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cts.Token));
            for (var i = 0; i < 6; i++)
            {
                await reader.ReadLineAsync(cts.Token);
            }
            Assert.Equal(1, server.Model.Engine.GetStats().Running);
            await cts.CancelAsync();
        }
        catch (OperationCanceledException)
        {
        }
        finally
        {
            server.Runner.StepDelay = TimeSpan.Zero;
        }
        for (var i = 0; i < 300 && server.Model.Engine.GetStats().Running > 0; i++)
        {
            await Task.Delay(10);
        }
        Assert.Equal(0, server.Model.Engine.GetStats().Running);
    }

    private async Task<JsonElement> Json(string body)
    {
        using var response = await server.Http.SendAsync(server.Post("/v1/chat/completions", body));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        return JsonDocument.Parse(text).RootElement;
    }

    private async Task<(string Content, List<(string Id, string Name, string Arguments)> Calls, string? Finish, int Chunks)> Stream(string body)
    {
        using var response = await server.Http.SendAsync(server.Post("/v1/chat/completions", body), HttpCompletionOption.ResponseHeadersRead);
        var raw = await response.Content.ReadAsStringAsync();
        var content = new StringBuilder();
        var calls = new SortedDictionary<int, (string Id, string Name, StringBuilder Args)>();
        string? finish = null;
        var count = 0;
        foreach (var e in raw.Split("\n\n", StringSplitOptions.RemoveEmptyEntries).Where(e => e != "data: [DONE]"))
        {
            var chunk = JsonDocument.Parse(e["data: ".Length..]).RootElement;
            count++;
            foreach (var choice in chunk.GetProperty("choices").EnumerateArray())
            {
                var delta = choice.GetProperty("delta");
                if (delta.TryGetProperty("content", out var c))
                {
                    content.Append(c.GetString());
                }
                if (delta.TryGetProperty("tool_calls", out var tcs))
                {
                    foreach (var tc in tcs.EnumerateArray())
                    {
                        var index = tc.GetProperty("index").GetInt32();
                        if (!calls.TryGetValue(index, out var call))
                        {
                            calls[index] = call = (tc.GetProperty("id").GetString()!, tc.GetProperty("function").GetProperty("name").GetString()!, new StringBuilder());
                        }
                        call.Args.Append(tc.GetProperty("function").GetProperty("arguments").GetString());
                    }
                }
                if (choice.GetProperty("finish_reason").ValueKind == JsonValueKind.String)
                {
                    finish = choice.GetProperty("finish_reason").GetString();
                }
            }
        }
        return (content.ToString(), calls.Values.Select(c => (c.Id, c.Name, c.Args.ToString())).ToList(), finish, count);
    }
}
