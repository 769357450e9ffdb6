using System.Text.Json;

namespace Qwen.Server.Tests.Validation;

/// <summary>
/// The OpenAI chat fields the server does not act on: accepted ones leave the answer as it is, refused ones are a 400
/// naming the field, never a silent drop. Also the message-level ones (developer, reasoning, refusal).
/// </summary>
public sealed class ChatFieldPolicyTests(ScriptedServerFixture server) : IClassFixture<ScriptedServerFixture>
{
    private const string Messages = """[{"role":"user","content":"key-policy"}]""";

    [Theory]
    [InlineData("\"reasoning_effort\":\"none\"")]
    [InlineData("\"reasoning_effort\":\"minimal\"")]
    [InlineData("\"reasoning_effort\":\"low\"")]
    [InlineData("\"reasoning_effort\":\"medium\"")]
    [InlineData("\"reasoning_effort\":\"high\"")]
    [InlineData("\"reasoning_effort\":\"xhigh\"")]
    [InlineData("\"metadata\":{\"team\":\"a\"},\"store\":true,\"user\":\"u1\",\"service_tier\":\"auto\"")]
    [InlineData("\"safety_identifier\":\"h\",\"prompt_cache_key\":\"k\",\"prompt_cache_retention\":\"24h\"")]
    [InlineData("\"modalities\":[\"text\"],\"verbosity\":\"medium\"")]
    [InlineData("\"stream_options\":{\"include_usage\":true,\"include_obfuscation\":false},\"stream\":true")]
    [InlineData("\"audio\":null,\"prediction\":null,\"functions\":null")]
    [InlineData("\"not_an_openai_field\":{\"x\":1}")]
    public async Task AcceptedField_SameAnswerAsWithout(string fields)
    {
        server.Script("key-policy", "fine thanks");
        var stream = fields.Contains("\"stream\":true", StringComparison.Ordinal);
        var answer = stream
            ? await ChatAnswer.StreamAsync(server.Http, $$"""{"messages":{{Messages}},{{fields}}}""", ScriptedServerFixture.ApiKey)
            : await ChatAnswer.WholeAsync(server.Http, $$"""{"messages":{{Messages}},{{fields}}}""", ScriptedServerFixture.ApiKey);
        Assert.Equal("fine thanks", answer.Content);
    }

    [Theory]
    [InlineData("\"reasoning_effort\":3", "reasoning_effort")]
    [InlineData("\"reasoning_effort\":\"maximal\"", "reasoning_effort")]
    [InlineData("\"metadata\":\"x\"", "metadata")]
    [InlineData("\"store\":\"yes\"", "store")]
    [InlineData("\"service_tier\":1", "service_tier")]
    [InlineData("\"audio\":{\"voice\":\"alloy\",\"format\":\"mp3\"}", "audio")]
    [InlineData("\"modalities\":[\"text\",\"audio\"]", "modalities")]
    [InlineData("\"modalities\":\"text\"", "modalities")]
    [InlineData("\"prediction\":{\"type\":\"content\",\"content\":\"x\"}", "prediction")]
    [InlineData("\"web_search_options\":{}", "web_search_options")]
    [InlineData("\"functions\":[{\"name\":\"f\"}]", "functions")]
    [InlineData("\"function_call\":\"auto\"", "function_call")]
    [InlineData("\"verbosity\":\"low\"", "verbosity")]
    [InlineData("\"stream\":true,\"stream_options\":{\"include_obfuscation\":\"no\"}", "stream_options.include_obfuscation")]
    public async Task FieldNotHonoured_400NamingIt(string fields, string param)
    {
        var (status, error) = await Send("/v1/chat/completions", $$"""{"messages":{{Messages}},{{fields}}}""");
        Assert.Equal(400, status);
        Assert.Equal(param, error.GetProperty("param").GetString());
        Assert.Contains($"'{param}'", error.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"role":"assistant","content":"x","refusal":"no"}""", "messages[1].refusal")]
    [InlineData("""{"role":"assistant","content":"x","audio":{"id":"a"}}""", "messages[1].audio")]
    [InlineData("""{"role":"assistant","content":null,"function_call":{"name":"f","arguments":"{}"}}""", "messages[1].function_call")]
    [InlineData("""{"role":"function","name":"f","content":"x"}""", "messages[1].role")]
    [InlineData("""{"role":"assistant","content":"x","reasoning_content":5}""", "messages[1].reasoning_content")]
    public async Task MessageFieldNotHonoured_400NamingIt(string message, string param)
    {
        foreach (var path in new[] { "/v1/chat/completions", "/tokenize" })
        {
            var (status, error) = await Send(path, $$"""{"messages":[{"role":"user","content":"hi"},{{message}}]}""");
            Assert.Equal(400, status);
            Assert.Equal(param, error.GetProperty("param").GetString());
        }
    }

    [Theory]
    [InlineData("""[{"role":"developer","content":"Be brief."},{"role":"user","content":"hi"}]""", """[{"role":"system","content":"Be brief."},{"role":"user","content":"hi"}]""")]
    [InlineData("""[{"role":"user","content":"hi"},{"role":"developer","content":[{"type":"text","text":"Be brief."}]}]""", """[{"role":"user","content":"hi"},{"role":"system","content":"Be brief."}]""")]
    [InlineData(
        """[{"role":"user","content":"hi"},{"role":"assistant","content":"hello","reasoning_content":"They greet.","reasoning":"r"},{"role":"user","content":"bye"}]""",
        """[{"role":"user","content":"hi"},{"role":"assistant","content":"hello"},{"role":"user","content":"bye"}]""")]
    public async Task DeveloperRoleAndReasoning_RenderAsSystemAndNotAtAll(string given, string equivalent)
    {
        Assert.Equal(await Tokens(equivalent), await Tokens(given));
        server.Script("key-developer", "ok");
        var answer = await ChatAnswer.WholeAsync(server.Http, $$"""{"messages":{{given[..^1]}},{"role":"user","content":"key-developer"}]}""", ScriptedServerFixture.ApiKey);
        Assert.Equal("ok", answer.Content);
        Assert.DoesNotContain("They greet", server.PromptOf("key-developer"), StringComparison.Ordinal);
    }

    private async Task<int[]> Tokens(string messages)
    {
        using var response = await server.Http.SendAsync(server.Post("/tokenize", $$"""{"messages":{{messages}}}"""));
        var root = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.True(response.IsSuccessStatusCode, root.GetRawText());
        return [.. root.GetProperty("tokens").EnumerateArray().Select(t => t.GetInt32())];
    }

    private async Task<(int Status, JsonElement Error)> Send(string path, string json)
    {
        using var response = await server.Http.SendAsync(server.Post(path, json));
        var root = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        return ((int)response.StatusCode, root.TryGetProperty("error", out var e) ? e : root);
    }
}
