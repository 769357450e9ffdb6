namespace Qwen.Server.Tests.Streaming;

/// <summary>
/// Tool calls the markup alone does not show, end to end with the scripted model: a bare JSON call with tool_choice auto
/// (as Qwen2.5-Coder writes them), and a forced call (required, named) cut by max_completion_tokens. Whole and streamed
/// answers must agree.
/// </summary>
public sealed class BareAndForcedCallTests(ScriptedServerFixture server) : IClassFixture<ScriptedServerFixture>
{
    private const string Tools = """[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}},{"type":"function","function":{"name":"get_time","parameters":{"type":"object","properties":{}}}}]""";

    [Theory]
    [InlineData("{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Oslo\"}}", "get_weather", "{\"city\": \"Oslo\"}")]
    [InlineData("\n{\"arguments\": {}, \"name\": \"get_time\"}\n", "get_time", "{}")]
    [InlineData("{\"name\": \"get_time\", \"arguments\": \"{\\\"tz\\\": \\\"UTC\\\"}\"}", "get_time", "{\"tz\": \"UTC\"}")]
    public async Task BareJsonCall_ToolChoiceAuto_ToolCallsStreamedAndWhole(string output, string name, string arguments)
    {
        var key = $"key-bare-{name}-{output.Length}";
        server.Script(key, output);
        var body = $$"""{"messages":[{"role":"user","content":"{{key}}"}],"tools":{{Tools}}}""";
        foreach (var answer in await Both(body))
        {
            Assert.Null(answer.Content);
            Assert.Equal([(name, arguments)], answer.Calls);
            Assert.Equal("tool_calls", answer.Finish);
        }
    }

    [Theory]
    [InlineData("{\"name\": \"get_news\", \"arguments\": {}}")] // not a defined tool
    [InlineData("{\"name\": \"get_time\", \"arguments\": {}, \"id\": 1}")] // an extra top-level key
    [InlineData("{\"name\": \"get_time\", \"arguments\": {}} Done.")] // text after the object
    [InlineData("```json\n{\"name\": \"get_time\", \"arguments\": {}}\n```")] // fenced: not recognised
    public async Task JsonThatIsNotABareCall_StaysContentStreamedAndWhole(string output)
    {
        var key = $"key-notbare-{output.Length}";
        server.Script(key, output);
        var body = $$"""{"messages":[{"role":"user","content":"{{key}}"}],"tools":{{Tools}}}""";
        foreach (var answer in await Both(body))
        {
            Assert.Equal(output, answer.Content);
            Assert.Empty(answer.Calls);
            Assert.Equal("stop", answer.Finish);
        }
    }

    [Fact]
    public async Task BareJsonCall_WithoutTools_StaysContent()
    {
        const string Output = "{\"name\": \"get_time\", \"arguments\": {}}";
        server.Script("key-bare-notools", Output);
        var answer = await ChatAnswer.WholeAsync(server.Http, """{"messages":[{"role":"user","content":"key-bare-notools"}]}""", ScriptedServerFixture.ApiKey);
        Assert.Equal(Output, answer.Content);
        Assert.Empty(answer.Calls);
    }

    [Fact]
    public async Task Required_CutAfterOneToken_FirstToolWithNoArgumentsFinishLength()
    {
        server.Script("key-cut-required", "{\"name\": \"get_time\", \"arguments\": {}}\n</tool_call>");
        var body = $$"""{"messages":[{"role":"user","content":"key-cut-required"}],"tools":{{Tools}},"tool_choice":"required","max_completion_tokens":1}""";
        foreach (var answer in await Both(body))
        {
            // One token ('{"') does not reach the name: the first tool whose name begins with "" is the first tool.
            Assert.Null(answer.Content);
            Assert.Equal([("get_weather", "")], answer.Calls);
            Assert.Equal("length", answer.Finish);
        }
    }

    [Fact]
    public async Task Required_CutAfterTheName_ThatToolWithNoArgumentsFinishLength()
    {
        const string Output = "{\"name\": \"get_time\", \"arguments\": {}}\n</tool_call>";
        server.Script("key-cut-named-out", Output);
        // The fewest tokens whose text holds the whole name: the cut falls before the arguments begin.
        var ids = server.Model.Tokenizer.Encode(Output);
        var count = Enumerable.Range(1, ids.Length).First(k => server.Model.Tokenizer.Decode(ids[..k]).Contains("get_time\"", StringComparison.Ordinal));
        Assert.DoesNotContain("{}", server.Model.Tokenizer.Decode(ids[..count]), StringComparison.Ordinal);
        var body = $$"""{"messages":[{"role":"user","content":"key-cut-named-out"}],"tools":{{Tools}},"tool_choice":"required","max_completion_tokens":{{count}}}""";
        foreach (var answer in await Both(body))
        {
            Assert.Null(answer.Content);
            Assert.Equal([("get_time", "")], answer.Calls);
            Assert.Equal("length", answer.Finish);
        }
    }

    [Fact]
    public async Task NamedFunction_CutAfterOneToken_ThatFunctionWithTheArgumentsSoFarFinishLength()
    {
        const string Output = "{\"city\": \"Oslo\"}}\n</tool_call>";
        server.Script("key-cut-function", Output);
        var first = server.Model.Tokenizer.Decode(server.Model.Tokenizer.Encode(Output)[..1]);
        var body = $$$"""{"messages":[{"role":"user","content":"key-cut-function"}],"tools":{{{Tools}}},"tool_choice":{"type":"function","function":{"name":"get_weather"}},"max_completion_tokens":1}""";
        foreach (var answer in await Both(body))
        {
            Assert.Null(answer.Content);
            Assert.Equal([("get_weather", first)], answer.Calls);
            Assert.Equal("length", answer.Finish);
        }
    }

    private async Task<ChatAnswer[]> Both(string body)
        => [await ChatAnswer.WholeAsync(server.Http, body, ScriptedServerFixture.ApiKey), await ChatAnswer.StreamAsync(server.Http, body[..^1] + ",\"stream\":true}", ScriptedServerFixture.ApiKey)];
}
