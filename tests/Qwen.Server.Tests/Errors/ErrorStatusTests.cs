using System.Net;
using System.Text;
using System.Text.Json;

namespace Qwen.Server.Tests.Errors;

/// <summary>Every error status over raw HTTP: the OpenAI error body, the right status and param, never a 500.</summary>
public sealed class ErrorStatusTests(ScriptedServerFixture server) : IClassFixture<ScriptedServerFixture>
{
    [Theory]
    [InlineData("{bad json", null)]
    [InlineData("[1,2]", null)]
    [InlineData("""{"messages":[]}""", "messages")]
    [InlineData("""{"temperature":1}""", "messages")]
    [InlineData("""{"messages":[{"role":"wizard","content":"hi"}]}""", "messages[0].role")]
    [InlineData("""{"messages":[{"role":"user","content":5}]}""", "messages[0].content")]
    [InlineData("""{"messages":[{"role":"user","content":"hi"}],"max_tokens":0}""", "max_tokens")]
    [InlineData("""{"messages":[{"role":"user","content":"hi"}],"max_tokens":"ten"}""", "max_tokens")]
    [InlineData("""{"messages":[{"role":"user","content":"hi"}],"temperature":2.5}""", "temperature")]
    [InlineData("""{"messages":[{"role":"user","content":"hi"}],"n":0}""", "n")]
    [InlineData("""{"messages":[{"role":"user","content":"hi"}],"n":100}""", "n")]
    [InlineData("""{"messages":[{"role":"user","content":"hi"}],"logprobs":true,"top_logprobs":21}""", "top_logprobs")]
    [InlineData("""{"messages":[{"role":"user","content":"hi"}],"logit_bias":{"999999":1}}""", "logit_bias")]
    [InlineData("""{"messages":[{"role":"user","content":"hi"}],"tools":[5]}""", "tools[0]")]
    [InlineData("""{"messages":[{"role":"user","content":"hi"}],"tool_choice":"sometimes"}""", "tool_choice")]
    [InlineData("""{"messages":[{"role":"user","content":"hi"}],"stop":7}""", "stop")]
    [InlineData("""{"messages":[{"role":"user","content":"hi"}],"stream":true,"stream_options":{"include_usage":"yes"}}""", "stream_options.include_usage")]
    [InlineData("""{"messages":[{"role":"user","content":"hi"}],"stream_options":[]}""", "stream_options")]
    [InlineData("""{"messages":[{"role":"user","content":"hi"}],"stream_options":{"include_usage":true}}""", "stream_options")]
    [InlineData("""{"messages":[{"role":"user","content":"hi"}],"stop":""}""", "stop")]
    [InlineData("""{"messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"f"}},{"type":"function","function":{"name":"f"}}]}""", "tools[1].function.name")]
    [InlineData("""{"messages":[{"role":"user","content":"hi"},{"role":"tool","content":"r"}]}""", "messages[1].tool_call_id")]
    [InlineData("""{"messages":[{"role":"user","content":"hi"}],"response_format":{"type":"json_schema"}}""", "response_format.json_schema")]
    [InlineData("""{"messages":[{"role":"user","content":"hi"}],"response_format":{"type":3}}""", "response_format.type")]
    [InlineData("""{"messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":{"type":"function","function":{"name":"g"}}}""", "tool_choice.function.name")]
    [InlineData("""{"messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":{"type":"function","function":{"name":5}}}""", "tool_choice.function.name")]
    [InlineData("""{"messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":{"type":"function"}}""", "tool_choice.function")]
    [InlineData("""{"messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"f","parameters":"x"}}]}""", "tools[0].function.parameters")]
    [InlineData("""{"messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"description":"no name"}}]}""", "tools[0].function.name")]
    [InlineData("""{"messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"f"}},{"type":"fn","function":{"name":"g"}}]}""", "tools[1].type")]
    [InlineData("""{"messages":[{"role":"system","content":"s"},{"role":"assistant","content":"a"},{"role":"user","content":{"text":"x"}}]}""", "messages[2].content")]
    [InlineData("""{"messages":[{"role":"user"}]}""", "messages[0].content")]
    [InlineData("""{"messages":[{"role":"user","content":null}]}""", "messages[0].content")]
    [InlineData("""{"messages":[{"role":"assistant"}]}""", "messages[0].content")]
    [InlineData("""{"messages":[{"role":"user","content":"hi","name":5}]}""", "messages[0].name")]
    [InlineData("""{"messages":[{"content":"hi"}]}""", "messages[0].role")]
    [InlineData("""{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"x"}}]}]}""", "messages[0].content[0].type")]
    [InlineData("""{"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":null,"tool_calls":[{"id":"c","type":"function","function":{"arguments":"{}"}}]}]}""", "messages[1].tool_calls[0].function.name")]
    [InlineData("""{"messages":[{"role":"tool","content":"r","tool_call_id":7}]}""", "messages[0].tool_call_id")]
    [InlineData("""{"messages":[{"role":"user","content":"hi"}],"seed":"s"}""", "seed")]
    [InlineData("""{"messages":[{"role":"user","content":"hi"}],"model":5}""", "model")]
    public async Task ChatCompletions_BadInput_400WithOpenAiBodyNamingTheField(string body, string? param)
    {
        var (status, error) = await Send(server.Post("/v1/chat/completions", body));
        Assert.Equal(400, status);
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        Assert.False(string.IsNullOrEmpty(error.GetProperty("message").GetString()));
        Assert.Equal(param, error.GetProperty("param").GetString());
        Assert.True(error.TryGetProperty("code", out _));
    }

    [Theory]
    [InlineData("""{"prompt":"hi","stream":true,"stream_options":{"include_usage":1}}""", "stream_options.include_usage")]
    [InlineData("""{"prompt":"hi","logprobs":6}""", "logprobs")]
    [InlineData("""{"prompt":"hi","echo":"yes"}""", "echo")]
    [InlineData("""{"prompt":[1,-2]}""", "prompt")]
    [InlineData("""{"prompt":["a","b"]}""", "prompt")]
    [InlineData("""{"max_tokens":3}""", "prompt")]
    public async Task Completions_BadInput_400NamingTheField(string body, string param)
    {
        var (status, error) = await Send(server.Post("/v1/completions", body));
        Assert.Equal(400, status);
        Assert.Equal(param, error.GetProperty("param").GetString());
    }

    [Theory]
    [InlineData("temperature", "1e400", "'temperature' must be in [0, 2] (given 1e400)")]
    [InlineData("n", "1e400", "'n' must be in [1, 2] (given 1e400): one request may hold at most 2 of the 2 KV cache slots, set by MaxSeqsPerRequest (--max-seqs-per-request, QWEN_MAX_SEQS_PER_REQUEST)")]
    [InlineData("n", "1.5", "'n' must be an integer (given 1.5)")]
    [InlineData("top_p", "0", "'top_p' must be in (0, 1] (given 0)")]
    [InlineData("temperature", "\"hot\"", "'temperature' must be a number (given a string)")]
    public async Task ChatCompletions_BadNumber_400NamingFieldLimitAndValue(string field, string value, string message)
    {
        var (status, error) = await Send(server.Post("/v1/chat/completions", $$"""{"messages":[{"role":"user","content":"hi"}],"{{field}}":{{value}}}"""));
        Assert.Equal(400, status);
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        Assert.Equal(message, error.GetProperty("message").GetString());
        Assert.Equal(field, error.GetProperty("param").GetString());
        Assert.True(error.TryGetProperty("code", out _));
    }

    [Fact]
    public async Task ChatCompletions_SeveralProblems_OneBodyListsAllParamNamesTheFirst()
    {
        var (status, error) = await Send(server.Post("/v1/chat/completions", """{"messages":[{"role":"user"},{"role":"user","content":"x","name":5}],"temperature":5,"stream":true,"stream_options":{"include_usage":"y"}}"""));
        Assert.Equal(400, status);
        Assert.Equal("messages[0].content", error.GetProperty("param").GetString());
        var message = error.GetProperty("message").GetString()!;
        Assert.StartsWith("4 problems: ", message, StringComparison.Ordinal);
        foreach (var field in new[] { "'messages[0].content'", "'messages[1].name'", "'temperature'", "'stream_options.include_usage'" })
        {
            Assert.Contains(field, message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task ChatCompletions_WrongModelAndPromptTooLong_404BeforeAnyTokenizing()
    {
        var words = string.Join(" ", Enumerable.Repeat("word", 600));
        var (status, error) = await Send(server.Post("/v1/chat/completions", $$"""{"model":"gpt-4o","messages":[{"role":"user","content":"{{words}}"}]}"""));
        Assert.Equal(404, status);
        Assert.Equal("model_not_found", error.GetProperty("code").GetString());
        (status, error) = await Send(server.Post("/v1/completions", $$"""{"model":"gpt-4o","prompt":"{{words}}","logprobs":99}"""));
        Assert.Equal(404, status);
        Assert.Equal("model", error.GetProperty("param").GetString());
    }

    [Fact]
    public async Task ChatCompletions_PromptPlusMaxTokensTooLong_400ContextLengthExceeded()
    {
        var (status, error) = await Send(server.Post("/v1/chat/completions", """{"messages":[{"role":"user","content":"hi"}],"max_tokens":500}"""));
        Assert.Equal(400, status);
        Assert.Equal("context_length_exceeded", error.GetProperty("code").GetString());
    }

    [Fact]
    public async Task ApiKey_MissingOrWrong_401_RightOne_Accepted_HealthOpen()
    {
        var request = new HttpRequestMessage(HttpMethod.Get, "/v1/models");
        Assert.Equal(401, (await Send(request)).Status);
        request = new HttpRequestMessage(HttpMethod.Get, "/v1/models");
        request.Headers.Authorization = new("Bearer", "sk-wrong");
        var (status, error) = await Send(request);
        Assert.Equal(401, status);
        Assert.Equal("invalid_api_key", error.GetProperty("code").GetString());
        request = new HttpRequestMessage(HttpMethod.Get, "/v1/models");
        request.Headers.Authorization = new("Bearer", ScriptedServerFixture.ApiKey);
        Assert.Equal(HttpStatusCode.OK, (await server.Http.SendAsync(request)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await server.Http.GetAsync("/health")).StatusCode);
    }

    [Fact]
    public async Task UnknownRouteOrModel_404()
    {
        Assert.Equal(404, (await Send(server.Post("/v1/nothing-here", "{}"))).Status);
        var (status, error) = await Send(server.Post("/v1/chat/completions", """{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}"""));
        Assert.Equal(404, status);
        Assert.Equal("model_not_found", error.GetProperty("code").GetString());
        var get = new HttpRequestMessage(HttpMethod.Get, "/v1/models/gpt-4o");
        get.Headers.Authorization = new("Bearer", ScriptedServerFixture.ApiKey);
        Assert.Equal(404, (await Send(get)).Status);
    }

    [Fact]
    public async Task BodyOverLimit_413()
    {
        var big = "{\"messages\":[{\"role\":\"user\",\"content\":\"" + new string('a', 100_000) + "\"}]}";
        var (status, error) = await Send(server.Post("/v1/chat/completions", big));
        Assert.Equal(413, status);
        Assert.Equal("request_too_large", error.GetProperty("code").GetString());
    }

    [Fact]
    public async Task QueueFull_429WithRetryAfter_BeforeAdmittedOnesFinish_AndAdmittedComplete()
    {
        server.Script("key-slow", "a b c d e f");
        // 7 steps of 150 ms a request: the admitted ones are still running when the 5th is sent, even on a loaded machine
        // (30 ms steps and a fixed 100 ms wait failed in CI: the 5th arrived after the first had finished, and got a 200).
        server.Runner.StepDelay = TimeSpan.FromMilliseconds(150);
        try
        {
            // 2 slots + 2 waiting: the 5th and 6th are over the limit.
            var admitted = Enumerable.Range(0, 4).Select(_ => server.Http.SendAsync(server.Post("/v1/chat/completions", """{"messages":[{"role":"user","content":"key-slow"}]}"""))).ToList();
            using (var bound = new CancellationTokenSource(TimeSpan.FromSeconds(60)))
            {
                while (server.Model.Engine.GetStats() is var stats && stats.SlotsUsed + stats.Waiting < 4)
                {
                    await Task.Delay(5, bound.Token); // until all four hold a slot or a waiting place
                }
            }
            using var rejected = await server.Http.SendAsync(server.Post("/v1/chat/completions", """{"messages":[{"role":"user","content":"key-slow"}]}"""));
            Assert.Equal(HttpStatusCode.TooManyRequests, rejected.StatusCode);
            Assert.Equal("1", rejected.Headers.GetValues("Retry-After").Single());
            Assert.Equal("queue_full", JsonDocument.Parse(await rejected.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetProperty("code").GetString());
            Assert.Contains(admitted, t => !t.IsCompleted); // the rejection came back while admitted requests were still running
            foreach (var response in await Task.WhenAll(admitted))
            {
                var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
                Assert.Equal("a b c d e f", body.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString());
            }
        }
        finally
        {
            server.Runner.StepDelay = TimeSpan.Zero;
        }
    }

    private async Task<(int Status, JsonElement Error)> Send(HttpRequestMessage request)
    {
        using var response = await server.Http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        var root = JsonDocument.Parse(text).RootElement;
        Assert.True(root.TryGetProperty("error", out var error), text);
        return ((int)response.StatusCode, error);
    }
}
