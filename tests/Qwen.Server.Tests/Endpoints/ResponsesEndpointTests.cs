#pragma warning disable OPENAI001 // the Responses types are marked experimental in the OpenAI .NET library
using System.ClientModel.Primitives;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using OpenAI;
using OpenAI.Responses;

namespace Qwen.Server.Tests.Endpoints;

/// <summary>
/// /v1/responses against the scripted model (exact outputs): output items, the streamed event sequence, the limit, the
/// rendering of input items (checked against /v1/chat/completions' prompt count for the same conversation), ignored and
/// refused fields, and the empty-input probe.
/// </summary>
public sealed class ResponsesEndpointTests(ScriptedServerFixture server) : IClassFixture<ScriptedServerFixture>
{
    private const string TwoCalls = "Let me check.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Zürich\"}}\n</tool_call>\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"東京\"}}\n</tool_call>";
    private const string Tool = """{"type":"function","name":"get_weather","description":"Weather in a city","parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]},"strict":false}""";
    private const string ChatTool = """{"type":"function","function":{"name":"get_weather","description":"Weather in a city","parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]},"strict":false}}""";

    [Fact]
    public async Task Whole_TextAndTwoToolCalls_MessageThenTwoFunctionCallItems()
    {
        server.Script("rk-calls", TwoCalls);
        var (status, body) = await PostAsync($$"""{"input":"rk-calls","tools":[{{Tool}}]}""");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.StartsWith("resp_", body.GetProperty("id").GetString(), StringComparison.Ordinal);
        Assert.Equal("response", body.GetProperty("object").GetString());
        Assert.Equal("completed", body.GetProperty("status").GetString());
        Assert.Equal(JsonValueKind.Null, body.GetProperty("incomplete_details").ValueKind);
        Assert.Equal(JsonValueKind.Null, body.GetProperty("error").ValueKind);
        Assert.False(body.GetProperty("store").GetBoolean());
        var output = body.GetProperty("output").EnumerateArray().ToList();
        Assert.Equal(["message", "function_call", "function_call"], output.Select(o => o.GetProperty("type").GetString()));
        var message = output[0];
        Assert.StartsWith("msg_", message.GetProperty("id").GetString(), StringComparison.Ordinal);
        Assert.Equal("assistant", message.GetProperty("role").GetString());
        Assert.Equal("completed", message.GetProperty("status").GetString());
        var part = Assert.Single(message.GetProperty("content").EnumerateArray());
        Assert.Equal("output_text", part.GetProperty("type").GetString());
        Assert.Equal("Let me check.", part.GetProperty("text").GetString());
        Assert.Equal(0, part.GetProperty("annotations").GetArrayLength());
        string[] cities = ["Zürich", "東京"];
        for (var i = 0; i < 2; i++)
        {
            var call = output[i + 1];
            Assert.StartsWith("fc_", call.GetProperty("id").GetString(), StringComparison.Ordinal);
            Assert.StartsWith("call_", call.GetProperty("call_id").GetString(), StringComparison.Ordinal);
            Assert.Equal("get_weather", call.GetProperty("name").GetString());
            Assert.Equal($$"""{"city": "{{cities[i]}}"}""", call.GetProperty("arguments").GetString());
            Assert.Equal("completed", call.GetProperty("status").GetString());
        }
        var usage = body.GetProperty("usage");
        Assert.Equal(usage.GetProperty("input_tokens").GetInt32() + usage.GetProperty("output_tokens").GetInt32(), usage.GetProperty("total_tokens").GetInt32());
        Assert.Equal(server.Model.Tokenizer.Encode(TwoCalls).Length + 1, usage.GetProperty("output_tokens").GetInt32()); // + <|im_end|>
        Assert.InRange(usage.GetProperty("input_tokens_details").GetProperty("cached_tokens").GetInt32(), 0, usage.GetProperty("input_tokens").GetInt32() - 1); // what earlier tests left in the cache
        Assert.Equal(0, usage.GetProperty("output_tokens_details").GetProperty("reasoning_tokens").GetInt32());
        Assert.Equal("auto", body.GetProperty("tool_choice").GetString());
        Assert.Equal("get_weather", body.GetProperty("tools")[0].GetProperty("name").GetString());
    }

    [Fact]
    public async Task Stream_TextAndTwoToolCalls_ExactEventSequenceRisingNumbersAndTheWholeResponseLast()
    {
        server.Script("rk-stream-calls", TwoCalls);
        var events = await StreamAsync($$"""{"input":"rk-stream-calls","tools":[{{Tool}}],"stream":true}""");
        var data = events.Data;
        // Every block is a named event whose name is its type; no [DONE], no comments in a quick stream.
        Assert.All(events.Blocks, b => Assert.Equal(b.Name, JsonDocument.Parse(b.Data!).RootElement.GetProperty("type").GetString()));
        Assert.Equal(Enumerable.Range(0, data.Count), data.Select(d => d.GetProperty("sequence_number").GetInt32()));
        var types = data.Select(d => d.GetProperty("type").GetString()!).ToList();
        var collapsed = types.Where((t, i) => !(t.EndsWith(".delta", StringComparison.Ordinal) && i > 0 && types[i - 1] == t)).ToList();
        Assert.Equal(
            [
                "response.created", "response.in_progress",
                "response.output_item.added", "response.content_part.added", "response.output_text.delta", "response.output_text.done", "response.content_part.done", "response.output_item.done",
                "response.output_item.added", "response.function_call_arguments.delta", "response.function_call_arguments.done", "response.output_item.done",
                "response.output_item.added", "response.function_call_arguments.delta", "response.function_call_arguments.done", "response.output_item.done",
                "response.completed",
            ],
            collapsed);

        // The pieces add up to the done events and to the final response, which equals a whole answer but for ids.
        Assert.Equal("Let me check.", string.Concat(data.Where(d => d.GetProperty("type").GetString() == "response.output_text.delta").Select(d => d.GetProperty("delta").GetString())));
        Assert.Equal("Let me check.", data.Single(d => d.GetProperty("type").GetString() == "response.output_text.done").GetProperty("text").GetString());
        var argumentDeltas = data.Where(d => d.GetProperty("type").GetString() == "response.function_call_arguments.delta").GroupBy(d => d.GetProperty("output_index").GetInt32());
        Assert.Equal(["{\"city\": \"Zürich\"}", "{\"city\": \"東京\"}"], argumentDeltas.Select(g => string.Concat(g.Select(d => d.GetProperty("delta").GetString()))));
        var created = data[0].GetProperty("response");
        Assert.Equal("in_progress", created.GetProperty("status").GetString());
        Assert.Equal(0, created.GetProperty("output").GetArrayLength());
        Assert.Equal(JsonValueKind.Null, created.GetProperty("usage").ValueKind);
        var final = data[^1].GetProperty("response");
        Assert.Equal(created.GetProperty("id").GetString(), final.GetProperty("id").GetString());
        Assert.Equal("completed", final.GetProperty("status").GetString());
        var added = data.Where(d => d.GetProperty("type").GetString() == "response.output_item.added").ToList();
        var done = data.Where(d => d.GetProperty("type").GetString() == "response.output_item.done").Select(d => d.GetProperty("item")).ToList();
        Assert.Equal(["in_progress", "in_progress", "in_progress"], added.Select(a => a.GetProperty("item").GetProperty("status").GetString()));
        Assert.Equal([0, 1, 2], added.Select(a => a.GetProperty("output_index").GetInt32()));
        Assert.Equal(done.Select(d => d.GetRawText()), final.GetProperty("output").EnumerateArray().Select(o => o.GetRawText()));
        Assert.Equal(added.Select(a => a.GetProperty("item").GetProperty("id").GetString()), done.Select(d => d.GetProperty("id").GetString()));

        // The official client reads every event as its own kind, with the same numbers.
        var updates = data.Select(Sdk).ToList();
        Assert.Equal(Enumerable.Range(0, data.Count), updates.Select(u => u.SequenceNumber));
        Assert.Equal(["get_weather", "get_weather"], updates.OfType<StreamingResponseFunctionCallArgumentsDoneUpdate>().Select(u => u.FunctionName));
        Assert.Equal("Let me check.", string.Concat(updates.OfType<StreamingResponseOutputTextDeltaUpdate>().Select(u => u.Delta)));
        Assert.Equal(3, Assert.IsType<StreamingResponseCompletedUpdate>(updates[^1]).Response.OutputItems.Count);

        var (_, whole) = await PostAsync($$"""{"input":"rk-stream-calls","tools":[{{Tool}}]}""");
        Assert.Equal(Masked(whole), Masked(final));
    }

    [Fact]
    public async Task NamedToolChoice_OneFunctionCallItem_PromptOpensThatCall()
    {
        server.Script("rk-named", "{\"city\": \"Oslo\"}}\n</tool_call>");
        var (_, response) = await PostAsync($$$"""{"input":"rk-named","tools":[{{{Tool}}}],"tool_choice":{"type":"function","name":"get_weather"}}""");
        var call = Assert.Single(response.GetProperty("output").EnumerateArray());
        Assert.Equal("function_call", call.GetProperty("type").GetString());
        Assert.Equal("get_weather", call.GetProperty("name").GetString());
        Assert.Equal("{\"city\": \"Oslo\"}", call.GetProperty("arguments").GetString());
        Assert.Equal("function", response.GetProperty("tool_choice").GetProperty("type").GetString());
        Assert.EndsWith("<|im_start|>assistant\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": ", server.PromptOf("rk-named"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ParallelToolCallsFalse_OnlyTheFirstCall()
    {
        server.Script("rk-serial", TwoCalls);
        var (_, response) = await PostAsync($$"""{"input":"rk-serial","tools":[{{Tool}}],"parallel_tool_calls":false}""");
        Assert.Equal(["message", "function_call"], response.GetProperty("output").EnumerateArray().Select(o => o.GetProperty("type").GetString()));
        Assert.Equal("{\"city\": \"Zürich\"}", response.GetProperty("output")[1].GetProperty("arguments").GetString());
    }

    [Fact]
    public async Task JsonObjectFormat_GrammarHolds_AndTheFormatIsEchoed()
    {
        // The script tries to write text first; the json_object grammar refuses it, so the output starts as a JSON object.
        server.Script("rk-json", "Sure: {\"a\": 1}");
        var (_, response) = await PostAsync("""{"input":"rk-json","text":{"format":{"type":"json_object"}},"max_output_tokens":8}""");
        Assert.Equal("json_object", response.GetProperty("text").GetProperty("format").GetProperty("type").GetString());
        var text = response.GetProperty("output")[0].GetProperty("content")[0].GetProperty("text").GetString()!;
        Assert.StartsWith("{", text.TrimStart(), StringComparison.Ordinal);
        var (_, plain) = await PostAsync("""{"input":"rk-json","max_output_tokens":8}""");
        Assert.StartsWith("Sure:", plain.GetProperty("output")[0].GetProperty("content")[0].GetProperty("text").GetString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task MaxOutputTokens_CutsTheText_StatusIncompleteWithReason(bool stream)
    {
        server.Script("rk-long", "one two three four five six seven eight");
        var request = $$"""{"input":"rk-long","max_output_tokens":3,"stream":{{(stream ? "true" : "false")}}}""";
        JsonElement response;
        if (stream)
        {
            var data = (await StreamAsync(request)).Data;
            Assert.Equal("response.incomplete", data[^1].GetProperty("type").GetString());
            response = data[^1].GetProperty("response");
        }
        else
        {
            (_, response) = await PostAsync(request);
        }
        Assert.Equal("incomplete", response.GetProperty("status").GetString());
        Assert.Equal("max_output_tokens", response.GetProperty("incomplete_details").GetProperty("reason").GetString());
        Assert.Equal(3, response.GetProperty("max_output_tokens").GetInt32());
        Assert.Equal(3, response.GetProperty("usage").GetProperty("output_tokens").GetInt32());
        var message = Assert.Single(response.GetProperty("output").EnumerateArray());
        Assert.Equal("incomplete", message.GetProperty("status").GetString());
        Assert.Equal(server.Model.Tokenizer.Decode(server.Model.Tokenizer.Encode("one two three four")[..3]), message.GetProperty("content")[0].GetProperty("text").GetString());
    }

    [Fact]
    public async Task FunctionCallItems_RenderAsOneAssistantTurnAndToolMessages_SamePromptAsChat()
    {
        server.Script("rk-roundtrip", "It is sunny.");
        var input = """
            [{"role":"user","content":"rk-roundtrip weather?"},
             {"type":"message","role":"assistant","content":[{"type":"output_text","text":"Let me check."}]},
             {"type":"function_call","call_id":"call_1","name":"get_weather","arguments":"{\"city\": \"Zürich\"}"},
             {"type":"reasoning","id":"rs_1","summary":[]},
             {"type":"function_call","call_id":"call_2","name":"get_weather","arguments":"{\"city\": \"Oslo\"}"},
             {"type":"function_call_output","call_id":"call_1","output":"sunny"},
             {"type":"function_call_output","call_id":"call_2","output":[{"type":"input_text","text":"rain"}]}]
            """;
        var messages = """
            [{"role":"user","content":"rk-roundtrip weather?"},
             {"role":"assistant","content":"Let me check.","tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\": \"Zürich\"}"}},{"id":"call_2","type":"function","function":{"name":"get_weather","arguments":"{\"city\": \"Oslo\"}"}}]},
             {"role":"tool","tool_call_id":"call_1","content":"sunny"},
             {"role":"tool","tool_call_id":"call_2","content":"rain"}]
            """;
        var (_, response) = await PostAsync($$"""{"input":{{input}},"tools":[{{Tool}}]}""");
        var responsesPrompt = server.PromptOf("rk-roundtrip");
        var chat = await ChatAsync($$"""{"messages":{{messages}},"tools":[{{ChatTool}}]}""");
        Assert.Equal(chat.GetProperty("usage").GetProperty("prompt_tokens").GetInt32(), response.GetProperty("usage").GetProperty("input_tokens").GetInt32());
        Assert.Equal(server.PromptOf("rk-roundtrip"), responsesPrompt); // the very same tokens, not only as many
        Assert.Contains("<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Oslo\"}}\n</tool_call><|im_end|>\n<|im_start|>user\n<tool_response>\nsunny\n</tool_response>\n<tool_response>\nrain\n</tool_response><|im_end|>", responsesPrompt, StringComparison.Ordinal);
        Assert.Equal("It is sunny.", response.GetProperty("output")[0].GetProperty("content")[0].GetProperty("text").GetString());
    }

    [Fact]
    public async Task InstructionsAndDeveloper_RenderAsSystemMessages_SamePromptAsChat()
    {
        server.Script("rk-dev", "ok");
        var (_, response) = await PostAsync("""{"instructions":"Be brief.","input":[{"role":"developer","content":"Answer in French."},{"role":"user","content":[{"type":"input_text","text":"rk-dev"},{"type":"input_text","text":"hello"}]}]}""");
        var responsesPrompt = server.PromptOf("rk-dev");
        Assert.Equal("Be brief.", response.GetProperty("instructions").GetString());
        var chat = await ChatAsync("""{"messages":[{"role":"system","content":"Be brief."},{"role":"system","content":"Answer in French."},{"role":"user","content":"rk-dev\nhello"}]}""");
        Assert.Equal(chat.GetProperty("usage").GetProperty("prompt_tokens").GetInt32(), response.GetProperty("usage").GetProperty("input_tokens").GetInt32());
        Assert.Equal(server.PromptOf("rk-dev"), responsesPrompt);
        Assert.StartsWith("<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>system\nAnswer in French.<|im_end|>\n<|im_start|>user\nrk-dev\nhello<|im_end|>\n<|im_start|>assistant\n", responsesPrompt, StringComparison.Ordinal);
    }

    [Fact]
    public async Task IgnoredFields_Accepted_AndEchoedWhereTheResponseHasThem()
    {
        server.Script("rk-ignored", "fine");
        var (status, response) = await PostAsync($$$"""
            {"model":"{{{server.Model.Name}}}","input":"rk-ignored","store":true,"reasoning":{"effort":"low"},"include":["message.output_text.logprobs"],
             "metadata":{"k":"v"},"truncation":"auto","prompt_cache_key":"pk","client_metadata":{"a":1},"user":"u-1","service_tier":"auto",
             "safety_identifier":"s","background":false,"parallel_tool_calls":false,"temperature":0.5,"top_p":0.9,"text":{"format":{"type":"text"}},
             "tools":[{"type":"web_search"},{{{Tool}}}],"tool_choice":"none"}
            """);
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("fine", response.GetProperty("output")[0].GetProperty("content")[0].GetProperty("text").GetString());
        Assert.False(response.GetProperty("store").GetBoolean());
        Assert.Equal("v", response.GetProperty("metadata").GetProperty("k").GetString());
        Assert.Equal("u-1", response.GetProperty("user").GetString());
        Assert.False(response.GetProperty("parallel_tool_calls").GetBoolean());
        Assert.Equal(0.5, response.GetProperty("temperature").GetDouble(), 5);
        Assert.Equal(0.9, response.GetProperty("top_p").GetDouble(), 5);
        Assert.Equal("none", response.GetProperty("tool_choice").GetString());
        Assert.Equal(2, response.GetProperty("tools").GetArrayLength());
        // The hosted tool is not offered to the model: only the function reaches the prompt.
        var prompt = server.PromptOf("rk-ignored")!;
        Assert.Contains("\"name\": \"get_weather\"", prompt, StringComparison.Ordinal);
        Assert.DoesNotContain("web_search", prompt, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"input":"x","previous_response_id":"resp_1"}""", "previous_response_id", "stateless")]
    [InlineData("""{"input":"x","conversation":"conv_1"}""", "conversation", "stateless")]
    [InlineData("""{"input":"x","background":true}""", "background", "background")]
    [InlineData("""{"input":[{"role":"user","content":"a"},{"type":"computer_call","call_id":"c"}]}""", "input[1].type", "computer_call")]
    [InlineData("""{"input":[{"type":"item_reference","id":"msg_1"}]}""", "input[0].type", "stateless")]
    [InlineData("""{"input":[{"role":"user","content":"a"},{"role":"user","content":"b"},{"role":"user","content":[{"type":"input_text","text":"c"},{"type":"input_image","image_url":"https://x"}]}]}""", "input[2].content[1].type", "text only")]
    [InlineData("""{"input":[{"role":"wizard","content":"a"}]}""", "input[0].role", "developer")]
    [InlineData("""{"input":[{"type":"function_call","name":"f","arguments":"{}"}]}""", "input[0].call_id", "required")]
    [InlineData("""{"input":"x","text":{"format":{"type":"json_schema","name":"n"}}}""", "text.format.schema", "required")]
    [InlineData("""{"input":"x","text":{"format":{"type":"json_schema","name":"n","schema":{"type":"object","not":{}}}}}""", "text.format.schema.not", "'not'")]
    [InlineData("""{"input":"x","text":{"format":{"type":"yaml"}}}""", "text.format.type", "yaml")]
    [InlineData("""{"input":"x","max_output_tokens":0}""", "max_output_tokens", "[1,")]
    [InlineData("""{"input":"x","tool_choice":"required"}""", "tool_choice", "tools")]
    [InlineData("""{"input":"x","tools":[{"type":"function","name":"f"}],"tool_choice":{"type":"function","name":"g"}}""", "tool_choice.name", "'g'")]
    [InlineData("""{"input":"x","tools":[{"type":"function","name":"f"}],"tool_choice":{"type":"file_search"}}""", "tool_choice.type", "file_search")]
    [InlineData("""{"input":"x","tools":[{"type":"function"}]}""", "tools[0].name", "required")]
    [InlineData("""{"input":42}""", "input", "a string or an array")]
    [InlineData("""{"instructions":"x"}""", "input", "required")]
    public async Task Refused_400NamingTheField(string body, string param, string inMessage)
    {
        var (status, response) = await PostAsync(body);
        Assert.Equal(HttpStatusCode.BadRequest, status);
        var error = response.GetProperty("error");
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        Assert.Equal(param, error.GetProperty("param").GetString());
        Assert.Contains(inMessage, error.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ContextTooLong_400NamesInput()
    {
        var (status, response) = await PostAsync($$"""{"input":"{{string.Join(" ", Enumerable.Repeat("word", 600))}}"}""");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("input", response.GetProperty("error").GetProperty("param").GetString());
        Assert.Equal("context_length_exceeded", response.GetProperty("error").GetProperty("code").GetString());
    }

    [Theory]
    [InlineData("\"\"")]
    [InlineData("[]")]
    public async Task EmptyInputProbe_OneToken_AnsweredAsAnEmptyUserTurn(string input)
    {
        var (status, response) = await PostAsync($$"""{"input":{{input}},"max_output_tokens":1}""");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Contains(response.GetProperty("status").GetString(), new[] { "completed", "incomplete" });
        var chat = await ChatAsync("""{"messages":[{"role":"user","content":""}],"max_tokens":1}""");
        Assert.Equal(chat.GetProperty("usage").GetProperty("prompt_tokens").GetInt32(), response.GetProperty("usage").GetProperty("input_tokens").GetInt32());
        Assert.Equal(1, response.GetProperty("usage").GetProperty("output_tokens").GetInt32());
    }

    [Fact]
    public async Task ShutdownMidStream_EndsWithResponseFailed_NoDone()
    {
        var own = new BatchScriptedServerFixture();
        await own.InitializeAsync();
        var gate = own.ScriptPaused("rk-shutdown", "a b c d e f g h", pauseBefore: 3);
        try
        {
            using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            using var response = await own.Http.SendAsync(own.Post("/v1/responses", """{"input":"rk-shutdown","stream":true}"""), HttpCompletionOption.ResponseHeadersRead, bound.Token);
            var reading = response.Content.ReadAsStringAsync(bound.Token);
            await gate.Reached.WaitAsync(bound.Token);
            var stopping = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            own.App.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping.Register(() => stopping.TrySetResult());
            var stop = own.App.StopAsync(bound.Token);
            await stopping.Task.WaitAsync(bound.Token);
            gate.Open();
            var events = SseEvents.Parse(await reading);
            await stop;
            var data = events.Data;
            Assert.DoesNotContain(events.Blocks, b => b.Data == "[DONE]");
            Assert.Equal(Enumerable.Range(0, data.Count), data.Select(d => d.GetProperty("sequence_number").GetInt32()));
            Assert.Equal("response.failed", events.Blocks[^1].Name);
            var failed = data[^1].GetProperty("response");
            Assert.Equal("failed", failed.GetProperty("status").GetString());
            Assert.Equal("shutting_down", failed.GetProperty("error").GetProperty("code").GetString());
            Assert.Equal(data[0].GetProperty("response").GetProperty("id").GetString(), failed.GetProperty("id").GetString());
            var update = Assert.IsType<StreamingResponseFailedUpdate>(Sdk(data[^1]));
            Assert.Equal(ResponseStatus.Failed, update.Response.Status);
            Assert.Equal("shutting_down", update.Response.Error.Code.ToString());
        }
        finally
        {
            gate.Open();
            await own.DisposeAsync();
        }
    }

    private async Task<(HttpStatusCode Status, JsonElement Body)> PostAsync(string json)
    {
        using var response = await server.Http.SendAsync(server.Post("/v1/responses", json));
        return (response.StatusCode, await response.Content.ReadFromJsonAsync<JsonElement>());
    }

    private async Task<JsonElement> ChatAsync(string json)
    {
        using var response = await server.Http.SendAsync(server.Post("/v1/chat/completions", json));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    private async Task<SseEvents> StreamAsync(string json)
    {
        using var response = await server.Http.SendAsync(server.Post("/v1/responses", json));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        var events = SseEvents.Parse(await response.Content.ReadAsStringAsync());
        Assert.DoesNotContain(events.Blocks, b => b.Data == "[DONE]");
        return events;
    }

    /// <summary>One streamed event as the official OpenAI .NET client reads it.</summary>
    private static StreamingResponseUpdate Sdk(JsonElement data)
        => ModelReaderWriter.Read<StreamingResponseUpdate>(BinaryData.FromString(data.GetRawText()), ModelReaderWriterOptions.Json, OpenAIContext.Default)!;

    /// <summary>The response with its random ids and time masked.</summary>
    /// <summary>The response without its ids, time and cached tokens (which depend on what the prefix cache held: the second of two equal requests finds the first's prompt).</summary>
    private static string Masked(JsonElement response)
        => System.Text.RegularExpressions.Regex.Replace(
            System.Text.RegularExpressions.Regex.Replace(response.GetRawText(), "\"(resp|msg|fc|call)_[A-Za-z0-9]+\"", "\"$1_ID\""),
            "\"cached_tokens\":[0-9]+",
            "\"cached_tokens\":N").Replace(response.GetProperty("created_at").GetRawText(), "0", StringComparison.Ordinal);
}
