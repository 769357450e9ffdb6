using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using OpenAI;
using OpenAI.Chat;

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
    public async Task ToolChoiceNone_CallSpelledFromSubTokens_StaysContentStreamedAndWhole()
    {
        // <tool_call> written from ordinary sub-tokens, not the special token the ban covers: with none it is only text.
        var tk = server.Model.Tokenizer;
        const string Call = "{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Oslo\"}}";
        var ids = new[] { "<", "tool", "_call", ">\n" + Call + "\n</", "tool", "_call", ">" }.SelectMany(tk.Encode).ToArray();
        Assert.DoesNotContain(server.Model.ToolCallTokenId!.Value, ids);
        Assert.Equal("<tool_call>\n" + Call + "\n</tool_call>", tk.Decode(ids));
        server.ScriptIds("key-spelled", ids);

        // Control: with auto the same output is parsed as a call, so the parser would catch it.
        var auto = await Json("""{"messages":[{"role":"user","content":"key-spelled"}],"tools":""" + Tools + "}");
        Assert.Equal("tool_calls", auto.GetProperty("choices")[0].GetProperty("finish_reason").GetString());

        var body = """{"messages":[{"role":"user","content":"key-spelled"}],"tools":""" + Tools + ""","tool_choice":"none"}""";
        var whole = await Json(body);
        var message = whole.GetProperty("choices")[0].GetProperty("message");
        Assert.Equal("<tool_call>\n" + Call + "\n</tool_call>", message.GetProperty("content").GetString());
        Assert.False(message.TryGetProperty("tool_calls", out _));
        Assert.Equal("stop", whole.GetProperty("choices")[0].GetProperty("finish_reason").GetString());
        var (content, calls, finish, _) = await Stream(body[..^1] + ",\"stream\":true}");
        Assert.Equal("<tool_call>\n" + Call + "\n</tool_call>", content);
        Assert.Empty(calls);
        Assert.Equal("stop", finish);
    }

    [Fact]
    public async Task ToolChoiceRequired_PromptIsOfficialRenderingPlusCallOpening_CallReturned()
    {
        var golden = TemplateGolden.Load("tools_no_system");
        server.Script(" temperature in Paris now", "{\"name\": \"get_current_temperature\", \"arguments\": {\"location\": \"Paris, France\", \"unit\": \"celsius\"}}\n</tool_call>");
        var body = $$"""{"messages":{{golden.Messages.GetRawText()}},"tools":{{golden.Tools.GetRawText()}},"tool_choice":"required"}""";
        var whole = await Json(body);
        Assert.Equal(golden.Rendered + "<tool_call>\n", server.PromptOf(" temperature in Paris now"));
        var choice = whole.GetProperty("choices")[0];
        Assert.Equal("tool_calls", choice.GetProperty("finish_reason").GetString());
        Assert.Equal(JsonValueKind.Null, choice.GetProperty("message").GetProperty("content").ValueKind);
        var function = choice.GetProperty("message").GetProperty("tool_calls")[0].GetProperty("function");
        Assert.Equal("get_current_temperature", function.GetProperty("name").GetString());
        Assert.Equal("{\"location\": \"Paris, France\", \"unit\": \"celsius\"}", function.GetProperty("arguments").GetString());

        var (content, calls, finish, _) = await Stream(body[..^1] + ",\"stream\":true}");
        Assert.Equal("", content);
        Assert.Equal([("get_current_temperature", "{\"location\": \"Paris, France\", \"unit\": \"celsius\"}")], calls.Select(c => (c.Name, c.Arguments)));
        Assert.Equal("tool_calls", finish);
    }

    [Fact]
    public async Task ToolChoiceNamed_PromptIsOfficialRenderingPlusCallUpToArguments_StreamedAndWholeAgree()
    {
        var golden = TemplateGolden.Load("tools_with_system");
        server.Script("You are a weather bot", "{\"query\": \"Paris weather\", \"max_results\": 3}}\n</tool_call>");
        var body = $$"""{"messages":{{golden.Messages.GetRawText()}},"tools":{{golden.Tools.GetRawText()}},"tool_choice":""" + """{"type":"function","function":{"name":"search_web"}}}""";
        var whole = await Json(body);
        Assert.Equal(golden.Rendered + "<tool_call>\n{\"name\": \"search_web\", \"arguments\": ", server.PromptOf("You are a weather bot"));
        var function = whole.GetProperty("choices")[0].GetProperty("message").GetProperty("tool_calls")[0].GetProperty("function");
        Assert.Equal("search_web", function.GetProperty("name").GetString());
        Assert.Equal("{\"query\": \"Paris weather\", \"max_results\": 3}", function.GetProperty("arguments").GetString());

        var (content, calls, finish, _) = await Stream(body[..^1] + ",\"stream\":true}");
        Assert.Equal("", content);
        Assert.Equal([("search_web", "{\"query\": \"Paris weather\", \"max_results\": 3}")], calls.Select(c => (c.Name, c.Arguments)));
        Assert.Equal("tool_calls", finish);
    }

    [Fact]
    public async Task ParallelToolCallsFalse_ModelWritesTwoCalls_OnlyTheFirstAndGenerationEndsThere()
    {
        const string First = "Let me check.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Zürich\"}}\n</tool_call>";
        server.Script("key-parallel", First + "\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"東京\"}}\n</tool_call>");
        var body = """{"messages":[{"role":"user","content":"key-parallel"}],"tools":""" + Tools + ""","parallel_tool_calls":false}""";
        var whole = await Json(body);
        var choice = whole.GetProperty("choices")[0];
        Assert.Equal("tool_calls", choice.GetProperty("finish_reason").GetString());
        Assert.Equal("Let me check.", choice.GetProperty("message").GetProperty("content").GetString());
        var calls = choice.GetProperty("message").GetProperty("tool_calls").EnumerateArray().ToList();
        Assert.Equal(["{\"city\": \"Zürich\"}"], calls.Select(c => c.GetProperty("function").GetProperty("arguments").GetString()));
        // Generation stopped at the first call's close tag: no token of the second call was generated.
        Assert.Equal(server.Model.Tokenizer.Encode(First).Length, whole.GetProperty("usage").GetProperty("completion_tokens").GetInt32());

        var (content, streamed, finish, _) = await Stream(body[..^1] + ",\"stream\":true}");
        Assert.Equal("Let me check.", content);
        Assert.Equal(["{\"city\": \"Zürich\"}"], streamed.Select(c => c.Arguments));
        Assert.Equal("tool_calls", finish);
    }

    [Fact]
    public async Task Usage_NTwo_PromptCountedOnceCompletionSummed_StreamedAndWhole()
    {
        server.Script("key-usage", "one two three");
        var tokenized = await server.Http.SendAsync(server.Post("/tokenize", """{"messages":[{"role":"user","content":"key-usage"}]}"""));
        var promptTokens = JsonDocument.Parse(await tokenized.Content.ReadAsStringAsync()).RootElement.GetProperty("count").GetInt32();
        var completion = 2 * (server.Model.Tokenizer.Encode("one two three").Length + 1); // + <|im_end|>, per choice

        var whole = (await Json("""{"messages":[{"role":"user","content":"key-usage"}],"n":2}""")).GetProperty("usage");
        Assert.Equal((promptTokens, completion, promptTokens + completion), (whole.GetProperty("prompt_tokens").GetInt32(), whole.GetProperty("completion_tokens").GetInt32(), whole.GetProperty("total_tokens").GetInt32()));

        using var response = await server.Http.SendAsync(server.Post("/v1/chat/completions", """{"messages":[{"role":"user","content":"key-usage"}],"n":2,"stream":true,"stream_options":{"include_usage":true}}"""));
        var events = (await response.Content.ReadAsStringAsync()).Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        var usage = JsonDocument.Parse(events[^2]["data: ".Length..]).RootElement.GetProperty("usage");
        Assert.Equal((promptTokens, completion), (usage.GetProperty("prompt_tokens").GetInt32(), usage.GetProperty("completion_tokens").GetInt32()));

        var text = JsonDocument.Parse(await (await server.Http.SendAsync(server.Post("/v1/completions", """{"prompt":"key-usage","n":2}"""))).Content.ReadAsStringAsync()).RootElement.GetProperty("usage");
        Assert.Equal((server.Model.Tokenizer.Encode("key-usage").Length, completion), (text.GetProperty("prompt_tokens").GetInt32(), text.GetProperty("completion_tokens").GetInt32()));
    }

    [Fact]
    public async Task Sse_ContentFlushedPerToken_ArrivesWhileTheModelIsHeld()
    {
        // The engine is held before the third token: the first two must already have reached the client, so nothing
        // buffers the stream to the end. The order is explicit: read while held, then open the gate.
        var gate = server.ScriptPaused("key-flush", "one two three four", pauseBefore: 2);
        try
        {
            using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            using var response = await server.Http.SendAsync(server.Post("/v1/chat/completions", """{"messages":[{"role":"user","content":"key-flush"}],"stream":true}"""), HttpCompletionOption.ResponseHeadersRead, bound.Token);
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(bound.Token));
            await gate.Reached.WaitAsync(bound.Token);
            var seen = new StringBuilder();
            while (seen.ToString() != "one two")
            {
                var line = await reader.ReadLineAsync(bound.Token) ?? throw new InvalidOperationException("stream ended early");
                seen.Append(ContentOf(line));
            }
            Assert.True(gate.IsHolding);
            gate.Open();
            var rest = new StringBuilder();
            while (await reader.ReadLineAsync(bound.Token) is { } line)
            {
                rest.Append(ContentOf(line));
            }
            Assert.Equal(" three four", rest.ToString());
        }
        finally
        {
            gate.Open();
        }

        static string? ContentOf(string line)
            => line.StartsWith("data: {", StringComparison.Ordinal) && JsonDocument.Parse(line[6..]).RootElement.GetProperty("choices") is { } c && c.GetArrayLength() > 0
                && c[0].GetProperty("delta").TryGetProperty("content", out var content) ? content.GetString() : null;
    }

    [Fact]
    public async Task StreamedLogprobs_OpenAiClient_EachContentChunkCarriesItsTokens_SameListAsWhole()
    {
        server.Script("key-logprobs", "alpha beta gamma");
        var client = new ChatClient(server.Model.Name, new System.ClientModel.ApiKeyCredential(ScriptedServerFixture.ApiKey), new OpenAIClientOptions { Endpoint = new Uri(server.BaseAddress, "/v1") });
        var options = new ChatCompletionOptions { IncludeLogProbabilities = true, TopLogProbabilityCount = 2 };
        ChatMessage[] messages = [new UserChatMessage("key-logprobs")];
        ChatCompletion whole = await client.CompleteChatAsync(messages, options);
        var streamed = new List<ChatTokenLogProbabilityDetails>();
        await foreach (var update in client.CompleteChatStreamingAsync(messages, options))
        {
            var text = string.Concat(update.ContentUpdate.Select(p => p.Text));
            if (text.Length > 0)
            {
                // OpenAI's shape: the chunk that carries a token's text carries that token's logprob.
                Assert.Equal(text, string.Concat(update.ContentTokenLogProbabilities.Select(l => l.Token)));
            }
            else if (update.FinishReason is null)
            {
                Assert.Empty(update.ContentTokenLogProbabilities);
            }
            streamed.AddRange(update.ContentTokenLogProbabilities);
        }
        static string Flat(ChatTokenLogProbabilityDetails d)
            => $"{d.Token}|{d.LogProbability}|{Convert.ToHexString(d.Utf8Bytes?.ToArray() ?? [])}|{string.Join(",", d.TopLogProbabilities.Select(t => $"{t.Token}:{t.LogProbability}"))}";
        Assert.Equal(server.Model.Tokenizer.Encode("alpha beta gamma").Length + 1, whole.ContentTokenLogProbabilities.Count); // + <|im_end|>
        Assert.Equal(whole.ContentTokenLogProbabilities.Select(Flat), streamed.Select(Flat));
        Assert.All(streamed, d => Assert.Equal(2, d.TopLogProbabilities.Count));
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
        Assert.True(chunks.Count - 3 >= 3, "content must arrive token by token, not coalesced"); // one chunk per word token
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
