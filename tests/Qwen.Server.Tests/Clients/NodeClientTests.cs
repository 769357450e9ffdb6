using System.Text.Json;

namespace Qwen.Server.Tests.Clients;

/// <summary>
/// Agent-framework clients for Node (openai, @langchain/openai, the Vercel AI SDK; versions pinned in
/// tests/clients/package-lock.json) against the real server over a socket, one script per scenario. A script checks what
/// its framework hands back (zod validates structured output) and prints it as one JSON line, which is checked here again.
/// </summary>
public sealed class NodeClientTests(ClientServerFixture server) : IClassFixture<ClientServerFixture>
{
    private static readonly string[] WeatherCities = ["Paris", "Tokyo", "Lima"];

    [Fact]
    public async Task OpenAiNode_ChatStreamed_TextThenRequiredToolCall()
    {
        var result = await NodeClients.RunAsync(server.BaseAddress, "openai-chat-tools.mjs");
        Assert.Contains(result.GetProperty("finish").GetString(), new[] { "length", "stop" });
        Assert.Equal("get_weather", result.GetProperty("calls")[0].GetProperty("name").GetString());
    }

    [Fact]
    public async Task OpenAiNode_ResponsesStreamed_RequiredStrictTool_ThenFunctionOutput_ThenFinalAnswer()
    {
        var result = await NodeClients.RunAsync(server.BaseAddress, "openai-responses-tools.mjs");
        var call = result.GetProperty("call");
        Assert.Equal("get_weather", call.GetProperty("name").GetString());
        using var args = JsonDocument.Parse(call.GetProperty("arguments").GetString()!);
        Assert.Contains(args.RootElement.GetProperty("city").GetString(), WeatherCities);
        Assert.Contains(result.GetProperty("secondStatus").GetString(), new[] { "completed", "incomplete" });
    }

    [Fact]
    public async Task OpenAiNode_ChatParse_ZodResponseFormat_ParsedObjectValidates()
        => AssertWeather((await NodeClients.RunAsync(server.BaseAddress, "openai-chat-parse.mjs")).GetProperty("parsed"));

    [Fact]
    public async Task LangChain_WithStructuredOutput_DefaultMethod_ObjectValidates()
        => AssertWeather((await NodeClients.RunAsync(server.BaseAddress, "langchain-structured.mjs")).GetProperty("parsed"));

    [Fact]
    public async Task AiSdk_GenerateObject_ResponsesApi_ObjectValidates()
    {
        var result = await NodeClients.RunAsync(server.BaseAddress, "ai-sdk-generate-object.mjs");
        AssertWeather(result.GetProperty("object"));
        Assert.Equal("stop", result.GetProperty("finishReason").GetString());
    }

    [Theory]
    [InlineData("responses")]
    [InlineData("chat")]
    public async Task AiSdk_StreamText_TextStreamed_FinishReasonKnown(string api)
    {
        var result = await NodeClients.RunAsync(server.BaseAddress, "ai-sdk-stream-text.mjs", api);
        Assert.Contains(result.GetProperty("finishReason").GetString(), new[] { "length", "stop" });
        Assert.True(result.GetProperty("parts").GetInt32() >= 1, result.GetRawText());
    }

    /// <summary>The shared Weather object of tests/clients/lib.mjs, checked independently of zod.</summary>
    private static void AssertWeather(JsonElement weather)
    {
        Assert.Contains(weather.GetProperty("city").GetString(), WeatherCities);
        Assert.InRange(weather.GetProperty("celsius").GetInt32(), -40, 50);
        Assert.True(weather.GetProperty("sunny").ValueKind is JsonValueKind.True or JsonValueKind.False, weather.GetRawText());
        Assert.InRange(weather.GetProperty("note").GetString()!.EnumerateRunes().Count(), 0, 12);
        Assert.InRange(weather.GetProperty("tags").GetArrayLength(), 0, 3);
        Assert.Equal(5, weather.EnumerateObject().Count());
    }
}
