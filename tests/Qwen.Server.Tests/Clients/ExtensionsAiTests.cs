#pragma warning disable OPENAI001 // The Responses client is marked experimental in the OpenAI client
using System.ClientModel;
using System.Collections.Concurrent;
using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Extensions.AI;
using OpenAI;
using OpenAI.Responses;

namespace Qwen.Server.Tests.Clients;

/// <summary>
/// Microsoft.Extensions.AI over the official OpenAI .NET client (base URL swapped): <see cref="IChatClient"/> from the
/// Chat Completions client and from the Responses client; typed structured output (it sends a json_schema) and automatic
/// function invocation with a required tool choice.
/// </summary>
public sealed class ExtensionsAiTests(ClientServerFixture server) : IClassFixture<ClientServerFixture>
{
    /// <summary>
    /// What the structured-output test asks for. Integers are <c>long</c> and unbounded: for a response format the OpenAI
    /// adapter moves minimum/maximum into the description (OpenAI's strict subset), so a [Range] would not reach the
    /// grammar, and the noise model writes integers up to the server's 15-digit cap, which overflow an int.
    /// </summary>
    public sealed record Forecast(long Celsius, bool Windy, Sky Sky, long Days);

    [JsonConverter(typeof(JsonStringEnumConverter<Sky>))]
    public enum Sky
    {
        Clear,
        Cloudy,
        Rain,
    }

    [JsonConverter(typeof(JsonStringEnumConverter<Operation>))]
    public enum Operation
    {
        Add,
        Multiply,
    }

    /// <summary>An IChatClient for the tiny test model through <paramref name="api"/>: "chat" (Chat Completions) or "responses".</summary>
    private IChatClient Client(string api)
    {
        var options = new OpenAIClientOptions { Endpoint = new Uri(server.BaseAddress, "/v1"), NetworkTimeout = TimeSpan.FromSeconds(60) };
        var openai = new OpenAIClient(new ApiKeyCredential("unused"), options);
        return api == "chat"
            ? openai.GetChatClient(server.Model.Name).AsIChatClient()
            : openai.GetResponsesClient().AsIChatClient(server.Model.Name);
    }

    /// <summary>Runs a client call; an HTTP error fails the test with the status and body the client saw.</summary>
    private static async Task<T> Call<T>(Func<Task<T>> call)
    {
        try
        {
            return await call();
        }
        catch (ClientResultException e)
        {
            Assert.Fail($"HTTP {e.Status}: {e.GetRawResponse()?.Content}");
            throw;
        }
    }

    /// <summary>
    /// Streaming through the Chat Completions client only: Microsoft.Extensions.AI.OpenAI 11.0.0 (the newest) is built
    /// against OpenAI 2.14.0, whose ResponsesClient.CreateResponseStreamingAsync returned AsyncCollectionResult; 2.15.0
    /// returns Task&lt;AsyncStreamingResult&gt;, so its streaming over the Responses client throws MissingMethodException
    /// (client-side, before any request). Its non-streaming calls work and are tested below.
    /// </summary>
    [Fact]
    public async Task GetResponse_PlainAndStreamed_SameTextAndFinishReason()
    {
        var client = Client("chat");
        var options = new ChatOptions { Temperature = 0, MaxOutputTokens = 10 };
        List<ChatMessage> messages = [new(ChatRole.System, "Be brief."), new(ChatRole.User, "Tell me a story.")];
        var whole = await Call(() => client.GetResponseAsync(messages, options));
        Assert.True(whole.FinishReason == ChatFinishReason.Length || whole.FinishReason == ChatFinishReason.Stop, $"finish reason {whole.FinishReason}");
        Assert.InRange(whole.Usage?.OutputTokenCount ?? 0, 1, 10);

        var streamed = new StringBuilder();
        ChatFinishReason? finish = null;
        await Call(async () =>
        {
            await foreach (var update in client.GetStreamingResponseAsync(messages, options))
            {
                streamed.Append(update.Text);
                finish ??= update.FinishReason;
            }
            return 0;
        });
        Assert.Equal(whole.Text, streamed.ToString());
        Assert.Equal(whole.FinishReason, finish);
    }

    [Fact]
    public async Task GetResponse_ResponsesClient_TextFinishReasonAndUsage()
    {
        List<ChatMessage> messages = [new(ChatRole.System, "Be brief."), new(ChatRole.User, "Tell me a story.")];
        var response = await Call(() => Client("responses").GetResponseAsync(messages, new ChatOptions { Temperature = 0, MaxOutputTokens = 10 }));
        Assert.True(response.FinishReason == ChatFinishReason.Length || response.FinishReason == ChatFinishReason.Stop, $"finish reason {response.FinishReason}");
        Assert.InRange(response.Usage?.OutputTokenCount ?? 0, 1, 10);
        Assert.Equal(response.Usage!.InputTokenCount + response.Usage.OutputTokenCount, response.Usage.TotalTokenCount);
    }

    [Theory]
    [InlineData("chat")]
    [InlineData("responses")]
    public async Task GetResponseOfT_RecordOfIntsBoolsEnums_TypedResult(string api)
    {
        var options = new ChatOptions { Temperature = 0, MaxOutputTokens = 300 };
        var response = await Call(() => Client(api).GetResponseAsync<Forecast>("Forecast for Paris?", options));
        Assert.True(response.TryGetResult(out var forecast), $"no {nameof(Forecast)} in the answer (finish reason {response.FinishReason}): {response.Text}");
        Assert.True(Enum.IsDefined(forecast.Sky), $"sky {forecast.Sky}");
        JsonSchemaAssert.Valid(AIJsonUtilities.CreateJsonSchema(typeof(Forecast)).GetRawText(), response.Text);
    }

    [Theory]
    [InlineData("chat")]
    [InlineData("responses")]
    public async Task FunctionInvocation_RequireAny_FunctionCalledWithValidArguments_LoopEnds(string api)
    {
        var calls = new ConcurrentQueue<(int A, int B, Operation Op)>();
        var combine = AIFunctionFactory.Create(
            ([Range(0, 99)] int a, [Range(0, 99)] int b, Operation op) =>
            {
                calls.Enqueue((a, b, op));
                return op == Operation.Add ? a + b : a * b;
            },
            "combine",
            "Adds or multiplies two numbers");
        using var client = Client(api).AsBuilder().UseFunctionInvocation(configure: f => f.MaximumIterationsPerRequest = 3).Build();
        var options = new ChatOptions { Temperature = 0, MaxOutputTokens = 200, Tools = [combine], ToolMode = ChatToolMode.RequireAny };

        var response = await Call(() => client.GetResponseAsync("What is 3 plus 4?", options));
        var requested = response.Messages.SelectMany(m => m.Contents).OfType<FunctionCallContent>().ToList();
        var results = response.Messages.SelectMany(m => m.Contents).OfType<FunctionResultContent>().ToList();
        Assert.True(
            !calls.IsEmpty,
            $"combine was never called; schema {combine.JsonSchema.GetRawText()}; calls requested: "
                + string.Join("; ", requested.Select(c => $"{c.Name}({JsonSerializer.Serialize(c.Arguments)}) {c.Exception?.Message}"))
                + "; results: " + string.Join("; ", results.Select(r => r.Result?.ToString())));
        Assert.All(calls, c =>
        {
            Assert.InRange(c.A, 0, 99);
            Assert.InRange(c.B, 0, 99);
            Assert.True(Enum.IsDefined(c.Op), $"op {c.Op}");
        });
        Assert.InRange(calls.Count, 1, 3);
    }
}
