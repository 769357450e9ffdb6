#pragma warning disable OPENAI001 // The Responses client is marked experimental in the OpenAI client
using System.ClientModel;
using System.Text;
using OpenAI.Responses;

namespace Qwen.Server.Tests.Clients;

/// <summary>
/// POST /v1/responses through the official OpenAI .NET client (<see cref="ResponsesClient"/>, base URL swapped): a
/// streamed tool round trip, stateless (the conversation is sent again as items, function call and output included).
/// </summary>
public sealed class OpenAiResponsesClientTests(ClientServerFixture server) : IClassFixture<ClientServerFixture>
{
    private const string WeatherParameters = """
        {"type": "object", "properties": {"city": {"type": "string", "enum": ["Paris", "Tokyo", "Lima"]}, "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}}, "required": ["city", "unit"], "additionalProperties": false}
        """;

    private ResponsesClient Client() => new(new ApiKeyCredential("unused"), new ResponsesClientOptions { Endpoint = new Uri(server.BaseAddress, "/v1"), NetworkTimeout = TimeSpan.FromSeconds(60) });

    /// <summary>Streams one response; returns its updates (in order) and the final response (completed or incomplete).</summary>
    private async Task<(List<StreamingResponseUpdate> Updates, ResponseResult Final, string Text)> StreamAsync(CreateResponseOptions options)
    {
        var updates = new List<StreamingResponseUpdate>();
        var text = new StringBuilder();
        ResponseResult? final = null;
        try
        {
            var stream = await Client().CreateResponseStreamingAsync(options);
            await foreach (var update in stream)
            {
                updates.Add(update);
                switch (update)
                {
                    case StreamingResponseOutputTextDeltaUpdate delta:
                        text.Append(delta.Delta);
                        break;
                    case StreamingResponseCompletedUpdate completed:
                        final = completed.Response;
                        break;
                    case StreamingResponseIncompleteUpdate incomplete:
                        final = incomplete.Response;
                        break;
                }
            }
        }
        catch (ClientResultException e)
        {
            Assert.Fail($"HTTP {e.Status}: {e.GetRawResponse()?.Content}");
        }
        var kinds = string.Join(", ", updates.Select(u => u.GetType().Name));
        Assert.True(final is not null, $"no response.completed or response.incomplete event; events: {kinds}");
        Assert.IsType<StreamingResponseCreatedUpdate>(updates[0]);
        Assert.Equal(Enumerable.Range(updates[0].SequenceNumber, updates.Count), updates.Select(u => u.SequenceNumber));
        Assert.True(final.Usage.InputTokenCount > 0 && final.Usage.TotalTokenCount == final.Usage.InputTokenCount + final.Usage.OutputTokenCount, $"usage in {final.Usage.InputTokenCount} out {final.Usage.OutputTokenCount} total {final.Usage.TotalTokenCount}");
        return (updates, final, text.ToString());
    }

    [Fact]
    public async Task ResponsesStreaming_RequiredStrictTool_CallThenFunctionOutput_FinalResponse()
    {
        var tool = ResponseTool.CreateFunctionTool("get_weather", BinaryData.FromString(WeatherParameters), strictModeEnabled: true, functionDescription: "Weather of a city");
        var options = new CreateResponseOptions { Model = server.Model.Name, StreamingEnabled = true, MaxOutputTokenCount = 200, Temperature = 0, ToolChoice = ResponseToolChoice.CreateRequiredChoice() };
        options.Tools.Add(tool);
        options.InputItems.Add(ResponseItem.CreateUserMessageItem("Weather in Paris?"));

        var (updates, first, _) = await StreamAsync(options);
        var call = first.OutputItems.OfType<FunctionCallResponseItem>().FirstOrDefault();
        Assert.True(call is not null, $"no function_call item: status {first.Status}, events {string.Join(", ", updates.Select(u => u.GetType().Name))}");
        Assert.Equal("get_weather", call.FunctionName);
        Assert.Contains(updates, u => u is StreamingResponseFunctionCallArgumentsDeltaUpdate);
        var done = Assert.Single(updates.OfType<StreamingResponseFunctionCallArgumentsDoneUpdate>());
        Assert.Equal(call.FunctionArguments.ToString(), done.FunctionArguments.ToString());
        JsonSchemaAssert.Valid(WeatherParameters, call.FunctionArguments.ToString());

        // The second, stateless call carries the whole conversation: question, the call as returned, its output.
        var next = new CreateResponseOptions { Model = server.Model.Name, StreamingEnabled = true, MaxOutputTokenCount = 16, Temperature = 0 };
        next.Tools.Add(tool);
        next.InputItems.Add(ResponseItem.CreateUserMessageItem("Weather in Paris?"));
        next.InputItems.Add(ResponseItem.CreateFunctionCallItem(call.CallId, call.FunctionName, call.FunctionArguments));
        next.InputItems.Add(ResponseItem.CreateFunctionCallOutputItem(call.CallId, """{"celsius": 21}"""));
        var (_, final, text) = await StreamAsync(next);
        Assert.NotEmpty(final.OutputItems);
        Assert.True(final.Status is ResponseStatus.Completed or ResponseStatus.Incomplete, $"status {final.Status}");
        Assert.Equal(final.GetOutputText() ?? "", text);
    }
}
