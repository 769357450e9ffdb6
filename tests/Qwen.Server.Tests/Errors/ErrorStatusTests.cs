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
    [InlineData("""{"model":"x"}""", "messages")]
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
    public async Task ChatCompletions_BadInput_400WithOpenAiBodyNamingTheField(string body, string? param)
    {
        var (status, error) = await Send(server.Post("/v1/chat/completions", body));
        Assert.Equal(400, status);
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        Assert.False(string.IsNullOrEmpty(error.GetProperty("message").GetString()));
        Assert.Equal(param, error.GetProperty("param").GetString());
        Assert.True(error.TryGetProperty("code", out _));
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
        server.Runner.StepDelay = TimeSpan.FromMilliseconds(30);
        try
        {
            // 2 slots + 2 waiting: the 5th and 6th are over the limit.
            var admitted = Enumerable.Range(0, 4).Select(_ => server.Http.SendAsync(server.Post("/v1/chat/completions", """{"messages":[{"role":"user","content":"key-slow"}]}"""))).ToList();
            await Task.Delay(100);
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
