using System.Net;
using System.Text;
using System.Text.Json;

namespace Qwen.Server.Tests.Validation;

/// <summary>
/// A tool call's arguments string is JSON text inside JSON: an escaped lone surrogate in it ("{\"city\": \"\ud800\"}")
/// passes the body's own Unicode check, and reading it made a 500 with a stack trace (issue 14). Python's json.loads
/// accepts it, but the string it makes cannot be encoded for the tokenizer, so no prompt can be rendered: the server's
/// rule is the body's rule, a 400 naming the arguments. A surrogate pair is text and renders.
/// </summary>
public sealed class ToolCallArgumentsTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    private const string LoneSurrogate = """{\"city\": \"\\ud800\"}""";
    private const string Pair = """{\"city\": \"\\ud83d\\ude00\"}""";

    private static string ChatMessages(string arguments) => $$$"""
        [{"role":"user","content":"Weather?"},{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{{{arguments}}}"}}]},{"role":"tool","tool_call_id":"call_1","content":"22 C"}]
        """;

    private static string ResponsesInput(string arguments) => $$"""
        [{"role":"user","content":"Weather?"},{"type":"function_call","call_id":"call_1","name":"get_weather","arguments":"{{arguments}}"},{"type":"function_call_output","call_id":"call_1","output":"22 C"}]
        """;

    public static TheoryData<string, string, string> LoneSurrogateBodies() => new()
    {
        { "/v1/chat/completions", $$"""{"messages":{{ChatMessages(LoneSurrogate)}},"max_tokens":1}""", "messages[1].tool_calls[0].function.arguments" },
        { "/tokenize", $$"""{"messages":{{ChatMessages(LoneSurrogate)}}}""", "messages[1].tool_calls[0].function.arguments" },
        { "/v1/responses", $$"""{"input":{{ResponsesInput(LoneSurrogate)}},"max_output_tokens":16}""", "input[1].arguments" },
    };

    [Theory]
    [MemberData(nameof(LoneSurrogateBodies))]
    public async Task Endpoint_ArgumentsWithALoneSurrogateEscape_400NamingTheArguments(string path, string json, string param)
    {
        var (status, body) = await PostAsync(path, json);
        Assert.Equal(HttpStatusCode.BadRequest, status);
        var error = JsonDocument.Parse(body).RootElement.GetProperty("error");
        Assert.Equal(param, error.GetProperty("param").GetString());
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        Assert.DoesNotContain("   at ", body, StringComparison.Ordinal); // no stack trace
    }

    [Fact]
    public async Task Tokenize_ArgumentsWithASurrogatePair_RendersTheCharacter()
    {
        var (status, body) = await PostAsync("/tokenize", $$"""{"messages":{{ChatMessages(Pair)}}}""");
        Assert.Equal(HttpStatusCode.OK, status);
        var ids = JsonDocument.Parse(body).RootElement.GetProperty("tokens").EnumerateArray().Select(t => t.GetInt32()).ToArray();
        Assert.Contains("{\"city\": \"😀\"}", server.Model.Tokenizer.Decode(ids), StringComparison.Ordinal);
    }

    private async Task<(HttpStatusCode Status, string Body)> PostAsync(string path, string json)
    {
        using var response = await server.Http.PostAsync(path, new StringContent(json, Encoding.UTF8, "application/json"));
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }
}
