using System.ClientModel;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using OpenAI;
using OpenAI.Chat;

namespace Qwen.Server.Tests.Validation;

/// <summary>
/// Forced tool calls and json_object through the real server and the random-weight tiny test model, whose unconstrained
/// output is noise: only the grammar can make it well-formed. Results are checked with System.Text.Json and the
/// official OpenAI client, not with the server's own parser.
/// </summary>
public sealed class ConstrainedDecodingTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    private static readonly ChatTool Weather = ChatTool.CreateFunctionTool("get_weather", "Current weather", BinaryData.FromString("""{"type": "object", "properties": {"city": {"type": "string"}}}"""));
    private static readonly ChatTool Time = ChatTool.CreateFunctionTool("get_time", "Current time", BinaryData.FromString("""{"type": "object"}"""));

    private ChatClient Client() => new(server.Model.Name, new ApiKeyCredential("unused"), new OpenAIClientOptions { Endpoint = new Uri(server.BaseAddress, "/v1"), NetworkTimeout = TimeSpan.FromSeconds(60) });

    private static ChatCompletionOptions Options(ChatToolChoice choice, float temperature = 0, long? seed = null)
    {
        var options = new ChatCompletionOptions { Temperature = temperature, MaxOutputTokenCount = 200, ToolChoice = choice };
#pragma warning disable OPENAI001 // Seed is marked experimental in the OpenAI client
        options.Seed = seed;
#pragma warning restore OPENAI001
        options.Tools.Add(Weather);
        options.Tools.Add(Time);
        return options;
    }

    /// <summary>
    /// A finished answer must parse as a JSON object; one cut by max_tokens must be a valid beginning of one, checked by
    /// System.Text.Json's reader in non-final mode (it throws on the first byte that no JSON text can contain there).
    /// </summary>
    private static void AssertJsonObject(string text, bool finished)
    {
        if (finished)
        {
            using var doc = JsonDocument.Parse(text);
            Assert.Equal(JsonValueKind.Object, doc.RootElement.ValueKind);
            return;
        }
        var reader = new Utf8JsonReader(Encoding.UTF8.GetBytes(text), isFinalBlock: false, default);
        Assert.True(reader.Read(), $"no JSON token in '{text}'");
        Assert.Equal(JsonTokenType.StartObject, reader.TokenType);
        while (reader.Read())
        {
        }
    }

    [Fact]
    public async Task NamedToolChoice_SampledSeeds_OneCallOfThatFunction_StreamedEqualsWhole()
    {
        // Whatever the noise model draws, each answer is one call of the named function whose arguments are a JSON object
        // (or, when max_tokens cut it, the beginning of one). The stream (same seed) accumulates to the same call.
        ChatMessage[] messages = [new UserChatMessage("What is the weather in Paris?")];
        for (var seed = 1; seed <= 6; seed++)
        {
            var options = Options(ChatToolChoice.CreateFunctionChoice("get_time"), temperature: 1, seed: seed);
            ChatCompletion whole = await Client().CompleteChatAsync(messages, options);
            var call = Assert.Single(whole.ToolCalls);
            Assert.Equal("get_time", call.FunctionName);
            Assert.Empty(whole.Content);
            Assert.Contains(whole.FinishReason, new[] { ChatFinishReason.ToolCalls, ChatFinishReason.Length });
            AssertJsonObject(call.FunctionArguments.ToString(), whole.FinishReason == ChatFinishReason.ToolCalls);

            var name = new StringBuilder();
            var arguments = new StringBuilder();
            ChatFinishReason? finish = null;
            await foreach (var update in Client().CompleteChatStreamingAsync(messages, options))
            {
                foreach (var part in update.ToolCallUpdates)
                {
                    Assert.Equal(0, part.Index);
                    name.Append(part.FunctionName);
                    arguments.Append(part.FunctionArgumentsUpdate?.ToString());
                }
                Assert.All(update.ContentUpdate, part => Assert.Empty(part.Text)); // the role chunk may carry content ""
                finish ??= update.FinishReason;
            }
            Assert.Equal("get_time", name.ToString());
            Assert.Equal(call.FunctionArguments.ToString(), arguments.ToString());
            Assert.Equal(whole.FinishReason, finish);
        }
    }

    [Fact]
    public async Task RequiredToolChoice_SampledSeeds_EveryChoiceIsACallOfAGivenTool()
    {
        // Sampled at temperature 1 over several seeds: whatever the noise model draws, each answer is a call of a given
        // tool with JSON-object arguments (the last one may be cut by max_tokens).
        for (var seed = 1; seed <= 6; seed++)
        {
            ChatCompletion c = await Client().CompleteChatAsync([new UserChatMessage("Weather or time?")], Options(ChatToolChoice.CreateRequiredChoice(), temperature: 1, seed: seed));
            Assert.NotEmpty(c.ToolCalls);
            Assert.All(c.ToolCalls, t => Assert.Contains(t.FunctionName, new[] { "get_weather", "get_time" }));
            Assert.Empty(c.Content);
            Assert.Contains(c.FinishReason, new[] { ChatFinishReason.ToolCalls, ChatFinishReason.Length });
            for (var i = 0; i < c.ToolCalls.Count; i++)
            {
                AssertJsonObject(c.ToolCalls[i].FunctionArguments.ToString(), i < c.ToolCalls.Count - 1 || c.FinishReason == ChatFinishReason.ToolCalls);
            }
        }
    }

    [Fact]
    public async Task JsonObjectResponseFormat_SampledSeedsAndGreedy_ContentIsAJsonObject()
    {
        foreach (var (temperature, seed) in new[] { (0.0, 0), (1.0, 1), (1.0, 2), (1.0, 3) })
        {
            var body = new { messages = new[] { new { role = "user", content = "Reply in JSON." } }, response_format = new { type = "json_object" }, max_tokens = 200, temperature, seed };
            using var response = await server.Http.PostAsJsonAsync("/v1/chat/completions", body);
            var choice = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("choices")[0];
            var finish = choice.GetProperty("finish_reason").GetString();
            Assert.Contains(finish, new[] { "stop", "length" });
            AssertJsonObject(choice.GetProperty("message").GetProperty("content").GetString()!, finish == "stop");
        }
    }
}
