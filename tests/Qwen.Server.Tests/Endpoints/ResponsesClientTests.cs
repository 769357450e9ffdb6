#pragma warning disable OPENAI001 // the Responses client is marked experimental in the OpenAI .NET library
using System.ClientModel;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using OpenAI.Responses;

namespace Qwen.Server.Tests.Endpoints;

/// <summary>
/// The official OpenAI .NET client's <see cref="ResponsesClient"/>, base URL swapped, against the real server with the tiny
/// test model (random weights) over a real socket: it must parse every object and event the server sends.
/// </summary>
public sealed class ResponsesClientTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    private ResponsesClient Client() => new(new ApiKeyCredential("unused"), new ResponsesClientOptions { Endpoint = new Uri(server.BaseAddress, "/v1"), NetworkTimeout = TimeSpan.FromSeconds(60) });

    private CreateResponseOptions Options(int maxTokens, params ResponseItem[] items)
    {
        var options = new CreateResponseOptions(server.Model.Name, items) { MaxOutputTokenCount = maxTokens, Temperature = 0, Instructions = "Be brief." };
        options.Metadata["run"] = "test";
        return options;
    }

    [Fact]
    public async Task CreateResponse_Plain_ParsedWithUsageCountedLikeChat()
    {
        ResponseResult result = await Client().CreateResponseAsync(Options(12, ResponseItem.CreateUserMessageItem("Hello there, who are you?")));
        Assert.StartsWith("resp_", result.Id, StringComparison.Ordinal);
        Assert.Equal(server.Model.Name, result.Model);
        Assert.Contains(result.Status, new ResponseStatus?[] { ResponseStatus.Completed, ResponseStatus.Incomplete });
        Assert.True(result.Usage.OutputTokenCount is > 0 and <= 12);
        Assert.Equal(result.Usage.InputTokenCount + result.Usage.OutputTokenCount, result.Usage.TotalTokenCount);
        Assert.Equal("test", result.Metadata["run"]);
        Assert.Equal(12, result.MaxOutputTokenCount);
        if (result.Status == ResponseStatus.Incomplete)
        {
            Assert.Equal(ResponseIncompleteStatusReason.MaxOutputTokens, result.IncompleteStatusDetails.Reason);
            Assert.Equal(12, result.Usage.OutputTokenCount);
        }

        // The prompt is the chat template's rendering of instructions + input, so chat counts the same prompt tokens.
        var chat = await server.Http.PostAsJsonAsync("/v1/chat/completions", new { messages = new[] { new { role = "system", content = "Be brief." }, new { role = "user", content = "Hello there, who are you?" } }, max_tokens = 12, temperature = 0 });
        var chatBody = await chat.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(chatBody.GetProperty("usage").GetProperty("prompt_tokens").GetInt32(), result.Usage.InputTokenCount);
        Assert.Equal(chatBody.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString() ?? "", result.GetOutputText() ?? "");
    }

    [Fact]
    public async Task CreateResponseStreaming_DeltasJoinToTheFinalText_AndTheRawStreamIsOrdered()
    {
        var options = Options(10, ResponseItem.CreateUserMessageItem("Tell me a story."));
        options.StreamingEnabled = true;
        var text = new StringBuilder();
        ResponseResult? final = null;
        var kinds = new List<StreamingResponseUpdateKind>();
        var numbers = new List<int>();
        await foreach (var update in await Client().CreateResponseStreamingAsync(options))
        {
            kinds.Add(update.Kind);
            numbers.Add(update.SequenceNumber);
            if (update is StreamingResponseOutputTextDeltaUpdate delta)
            {
                text.Append(delta.Delta);
            }
            final = update switch
            {
                StreamingResponseCompletedUpdate c => c.Response,
                StreamingResponseIncompleteUpdate i => i.Response,
                _ => final,
            };
        }
        Assert.NotNull(final);
        Assert.Equal(final.GetOutputText() ?? "", text.ToString());
        Assert.Equal(Enumerable.Range(0, numbers.Count), numbers);
        Assert.Equal(StreamingResponseUpdateKind.ResponseCreated, kinds[0]);
        Assert.Equal(StreamingResponseUpdateKind.ResponseInProgress, kinds[1]);
        Assert.Contains(kinds[^1], new[] { StreamingResponseUpdateKind.ResponseCompleted, StreamingResponseUpdateKind.ResponseIncomplete });
        Assert.True(final.Status == ResponseStatus.Completed ? final.Usage.OutputTokenCount <= 10 : final.Usage.OutputTokenCount == 10);

        // The same request on the raw wire: named events whose name is the type, numbered from 0, no [DONE].
        using var raw = await server.Http.PostAsync("/v1/responses", new StringContent(
            JsonSerializer.Serialize(new { model = server.Model.Name, instructions = "Be brief.", input = "Tell me a story.", max_output_tokens = 10, temperature = 0, stream = true }), Encoding.UTF8, "application/json"));
        var events = SseEvents.Parse(await raw.Content.ReadAsStringAsync());
        Assert.All(events.Blocks, b => Assert.Equal(b.Name, JsonDocument.Parse(b.Data!).RootElement.GetProperty("type").GetString()));
        Assert.Equal(Enumerable.Range(0, events.Data.Count), events.Data.Select(d => d.GetProperty("sequence_number").GetInt32()));
        var last = events.Data[^1].GetProperty("response");
        Assert.Equal(text.ToString(), last.GetProperty("output").EnumerateArray().Where(o => o.GetProperty("type").GetString() == "message").Select(o => o.GetProperty("content")[0].GetProperty("text").GetString()).SingleOrDefault() ?? "");
    }

    [Fact]
    public async Task ToolRoundTrip_RequiredChoice_FunctionCallThenItsOutputAnswered()
    {
        var tool = ResponseTool.CreateFunctionTool("get_weather", BinaryData.FromString("""{"type":"object","properties":{"city":{"enum":["Paris","Rome"]}},"required":["city"]}"""), strictModeEnabled: false, functionDescription: "Weather of a city");
        var first = Options(100, ResponseItem.CreateUserMessageItem("Weather in Paris?"));
        first.Tools.Add(tool);
        first.ToolChoice = ResponseToolChoice.CreateRequiredChoice();
        ResponseResult called = await Client().CreateResponseAsync(first);
        var call = Assert.IsType<FunctionCallResponseItem>(called.OutputItems.Last());
        Assert.Equal("get_weather", call.FunctionName);
        Assert.StartsWith("call_", call.CallId, StringComparison.Ordinal);
        Assert.Equal(JsonValueKind.Object, JsonDocument.Parse(call.FunctionArguments.ToString()).RootElement.ValueKind); // the grammar keeps it to the schema
        Assert.Equal(ResponseStatus.Completed, called.Status);
        Assert.Equal(ResponseToolChoiceKind.Required, called.ToolChoice.Kind);
        Assert.Equal("get_weather", Assert.IsType<FunctionTool>(Assert.Single(called.Tools)).FunctionName);

        // Stateless: the whole conversation goes back, the call and its output included.
        var second = Options(8, [ResponseItem.CreateUserMessageItem("Weather in Paris?"), .. called.OutputItems, ResponseItem.CreateFunctionCallOutputItem(call.CallId, "sunny, 21 C")]);
        second.Tools.Add(tool);
        ResponseResult answered = await Client().CreateResponseAsync(second);
        Assert.Contains(answered.Status, new ResponseStatus?[] { ResponseStatus.Completed, ResponseStatus.Incomplete });
        Assert.True(answered.Usage.InputTokenCount > called.Usage.InputTokenCount);
    }

    [Fact]
    public async Task PreviousResponseId_RefusedAs400NamingTheField()
    {
        var options = Options(4, ResponseItem.CreateUserMessageItem("hi"));
        options.PreviousResponseId = "resp_abc";
        var e = await Assert.ThrowsAsync<ClientResultException>(() => Client().CreateResponseAsync(options));
        Assert.Equal(400, e.Status);
        Assert.Contains("previous_response_id", e.Message, StringComparison.Ordinal);
        Assert.Contains("stateless", e.Message, StringComparison.Ordinal);
    }
}
