using System.Text.Json;

namespace Qwen.Server.Tests.Conformance;

/// <summary>
/// Request-shape cases ported from the public suites (llama.cpp test_chat_completion.py and test_tool_call.py, vLLM
/// test_chat.py and test_completion_with_function_calling.py), with the scripted model: what must be a 400 naming the
/// field, and what must be accepted (parameterless tools, empty arguments in history).
/// </summary>
public sealed class RequestConformanceTests(ScriptedServerFixture server) : IClassFixture<ScriptedServerFixture>
{
    private const string User = """[{"role":"user","content":"hi"}]""";

    private const string ParameterlessTools = """[{"type":"function","function":{"name":"get_time"}},{"type":"function","function":{"name":"now","parameters":{"type":"object","properties":{}}}}]""";

    [Theory]
    // llama.cpp test_response_format (invalid shapes) / vLLM: these are 400 whatever json_schema support there is.
    [InlineData("""{"type":"sound"}""", "response_format")]
    [InlineData("""{}""", "response_format")]
    [InlineData("""{"type":"json_schema"}""", "response_format")]
    [InlineData("\"json_object\"", "response_format")]
    public async Task BadResponseFormat_400(string format, string paramPrefix)
    {
        var (status, error) = await Send($$"""{"messages":{{User}},"response_format":{{format}}}""");
        Assert.Equal(400, status);
        Assert.StartsWith(paramPrefix, error.GetProperty("param").GetString(), StringComparison.Ordinal);
    }

    [Theory]
    // vLLM test_completion_with_function_calling (tool_choice validation) / llama.cpp test_tool_call.
    [InlineData("\"tool_choice\":\"required\"", "tool_choice")]
    [InlineData("\"tool_choice\":{\"type\":\"function\",\"function\":{\"name\":\"nope\"}}", "tool_choice.function.name")]
    [InlineData("\"tools\":" + ParameterlessTools + ",\"tool_choice\":{\"type\":\"function\",\"function\":{\"name\":\"nope\"}}", "tool_choice.function.name")]
    [InlineData("\"tools\":" + ParameterlessTools + ",\"tool_choice\":{\"type\":\"function\"}", "tool_choice.function")]
    [InlineData("\"tools\":" + ParameterlessTools + ",\"tool_choice\":\"sometimes\"", "tool_choice")]
    [InlineData("\"tools\":{\"type\":\"function\"}", "tools")]
    [InlineData("\"tools\":\"get_time\",\"tool_choice\":\"auto\"", "tools")]
    [InlineData("\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\",\"parameters\":\"none\"}}]", "tools[0].function.parameters")]
    public async Task ToolsAndToolChoiceInconsistent_400NamingTheField(string fields, string param)
    {
        var (status, error) = await Send($$"""{"messages":{{User}},{{fields}}}""");
        Assert.Equal(400, status);
        Assert.Equal(param, error.GetProperty("param").GetString());
    }

    [Fact]
    public async Task ParameterlessTools_EmptyAndObjectArgumentsInHistory_RenderCountAndAnswer()
    {
        // llama.cpp's and vLLM's no-argument tool cases: a tool without parameters, or with empty properties, and an
        // assistant turn whose call arguments are "" or "{}", are accepted, rendered and counted without a 400.
        const string History = """
            [{"role":"user","content":"key-noargs what time is it"},
             {"role":"assistant","content":null,"tool_calls":[
               {"id":"call_1","type":"function","function":{"name":"get_time","arguments":""}},
               {"id":"call_2","type":"function","function":{"name":"now","arguments":"{}"}}]},
             {"role":"tool","tool_call_id":"call_1","content":"12:00"},
             {"role":"tool","tool_call_id":"call_2","content":"noon"}]
            """;
        using var tokenized = await server.Http.SendAsync(server.Post("/tokenize", $$"""{"messages":{{History}},"tools":{{ParameterlessTools}}}"""));
        var tokens = JsonDocument.Parse(await tokenized.Content.ReadAsStringAsync()).RootElement;
        Assert.True(tokenized.IsSuccessStatusCode, tokens.GetRawText());
        Assert.True(tokens.GetProperty("count").GetInt32() > 0);

        server.Script("key-noargs", "It is noon.");
        var answer = await ChatAnswer.WholeAsync(server.Http, $$"""{"messages":{{History}},"tools":{{ParameterlessTools}}}""", ScriptedServerFixture.ApiKey);
        Assert.Equal("It is noon.", answer.Content);
        var prompt = server.PromptOf("key-noargs")!;
        Assert.Contains("{\"name\": \"get_time\", \"arguments\": \"\"}", prompt, StringComparison.Ordinal);
        Assert.Contains("{\"name\": \"now\", \"arguments\": {}}", prompt, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("\"required\"")]
    [InlineData("{\"type\":\"function\",\"function\":{\"name\":\"now\"}}")]
    public async Task ParameterlessTool_ForcedCall_ArgumentsAreAnEmptyObjectStreamedAndWhole(string toolChoice)
    {
        var named = toolChoice.StartsWith('{');
        server.Script("key-forced-noargs", named ? "{}}\n</tool_call>" : "{\"name\": \"now\", \"arguments\": {}}\n</tool_call>");
        var body = $$"""{"messages":[{"role":"user","content":"key-forced-noargs"}],"tools":{{ParameterlessTools}},"tool_choice":{{toolChoice}}}""";
        foreach (var answer in new[] { await ChatAnswer.WholeAsync(server.Http, body, ScriptedServerFixture.ApiKey), await ChatAnswer.StreamAsync(server.Http, body[..^1] + ",\"stream\":true}", ScriptedServerFixture.ApiKey) })
        {
            Assert.Equal([("now", "{}")], answer.Calls);
            Assert.Equal("tool_calls", answer.Finish);
        }
    }

    private async Task<(int Status, JsonElement Error)> Send(string json)
    {
        using var response = await server.Http.SendAsync(server.Post("/v1/chat/completions", json));
        var root = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        return ((int)response.StatusCode, root.TryGetProperty("error", out var e) ? e : root);
    }
}
