using System.Text.Json;

namespace Qwen.Server.Tests.Validation;

/// <summary>
/// The one read-and-render step of /v1/chat/completions and /tokenize: OpenAI's message shapes become the template's
/// typed input, a malformed message is a 400 naming its index and field on both endpoints, and both render alike.
/// </summary>
public sealed class ChatPromptTests(ScriptedServerFixture server) : IClassFixture<ScriptedServerFixture>
{
    [Theory]
    [InlineData("""[{"role":"wizard","content":"x"}]""", "messages[0].role")]
    [InlineData("""[{"role":"user","content":"a"},{"content":"x"}]""", "messages[1].role")]
    [InlineData("""[{"role":"user","content":42}]""", "messages[0].content")]
    [InlineData("""[{"role":"user","content":[{"type":"image_url"}]}]""", "messages[0].content[0].type")]
    [InlineData("""[{"role":"assistant","tool_calls":[{"function":{"arguments":"{}"}}]}]""", "messages[0].tool_calls[0].function.name")]
    [InlineData("""[]""", "messages")]
    [InlineData("""["hi"]""", "messages[0]")]
    public async Task MalformedMessage_ChatAndTokenize_400NamingIndexAndField(string messages, string param)
    {
        foreach (var path in new[] { "/v1/chat/completions", "/tokenize" })
        {
            var (status, body) = await Send(path, $$"""{"messages":{{messages}}}""");
            Assert.True(status == 400, $"{path}: {status} {body}");
            var error = body.GetProperty("error");
            Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
            Assert.Equal(param, error.GetProperty("param").GetString());
        }
    }

    [Fact]
    public async Task OpenAiShapes_PartsNullContentAndArgumentsString_TokenizeAsTheObjectForm()
    {
        // The same conversation as the golden 'tool_roundtrip' shape, as an OpenAI client sends it and in the object form.
        const string OpenAi = """
            [{"role":"user","content":[{"type":"text","text":"Paris, "},{"type":"text","text":"in celsius"}]},
             {"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"f","arguments":"{\"b\": 1, \"a\": \"é\"}"}}]},
             {"role":"tool","tool_call_id":"call_1","content":"22"}]
            """;
        const string ObjectForm = """
            [{"role":"user","content":"Paris, \nin celsius"},
             {"role":"assistant","content":"","tool_calls":[{"function":{"name":"f","arguments":{"b":1,"a":"é"}}}]},
             {"role":"tool","tool_call_id":"call_1","content":"22"}]
            """;
        var openAi = await Tokens($$"""{"messages":{{OpenAi}}}""");
        Assert.Equal(await Tokens($$"""{"messages":{{ObjectForm}}}"""), openAi);
        Assert.Contains("{\"name\": \"f\", \"arguments\": {\"b\": 1, \"a\": \"é\"}}", server.Model.Tokenizer.Decode(openAi), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("tools_no_system", true)]
    [InlineData("empty_arguments", true)]
    [InlineData("no_generation_prompt", false)]
    public async Task Tokenize_GoldenMessagesAndTools_TokensOfTheOfficialRendering(string name, bool addGenerationPrompt)
    {
        var golden = TemplateGolden.Load(name);
        // The server requires tool_call_id on tool messages (OpenAI does); the template does not write it.
        var messages = golden.Messages.GetRawText().Replace("{\"role\": \"tool\", \"content\"", "{\"role\": \"tool\", \"tool_call_id\": \"call_1\", \"content\"", StringComparison.Ordinal);
        var tokens = await Tokens($$"""{"messages":{{messages}},"tools":{{golden.Tools.GetRawText()}},"add_generation_prompt":{{(addGenerationPrompt ? "true" : "false")}}}""");
        Assert.Equal(server.Model.Tokenizer.Encode(golden.Rendered), tokens);
    }

    [Theory]
    [InlineData("""[{"type":"function"}]""", "tools[0].function")]
    [InlineData("""[{"type":"function","function":{"name":"f"}},{"type":"function","function":{"name":"f"}}]""", "tools[1].function.name")]
    [InlineData("""{}""", "tools")]
    [InlineData("""[5]""", "tools[0]")]
    public async Task BadTools_ChatAndTokenize_SameProblem(string tools, string param)
    {
        var chat = await Send("/v1/chat/completions", $$"""{"messages":[{"role":"user","content":"hi"}],"tools":{{tools}}}""");
        var tokenize = await Send("/tokenize", $$"""{"messages":[{"role":"user","content":"hi"}],"tools":{{tools}}}""");
        Assert.Equal(400, chat.Status);
        Assert.Equal(param, chat.Body.GetProperty("error").GetProperty("param").GetString());
        Assert.Equal(chat.Status, tokenize.Status);
        Assert.Equal(chat.Body.GetRawText(), tokenize.Body.GetRawText());
    }

    private async Task<int[]> Tokens(string body)
    {
        var (status, root) = await Send("/tokenize", body);
        Assert.True(status == 200, root.GetRawText());
        return [.. root.GetProperty("tokens").EnumerateArray().Select(t => t.GetInt32())];
    }

    private async Task<(int Status, JsonElement Body)> Send(string path, string json)
    {
        using var response = await server.Http.SendAsync(server.Post(path, json));
        return ((int)response.StatusCode, JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement);
    }
}
