#pragma warning disable OPENAI001 // Seed is marked experimental in the OpenAI client
using System.ClientModel;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using OpenAI;
using OpenAI.Chat;

namespace Qwen.Server.Tests.Endpoints;

/// <summary>The official OpenAI .NET client, base URL swapped, against the real server with the tiny demo model over a real socket.</summary>
public sealed class OpenAiClientTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    private ChatClient Client(string? model = null) => new(model ?? server.Model.Name, new ApiKeyCredential("unused"), new OpenAIClientOptions { Endpoint = new Uri(server.BaseAddress, "/v1"), NetworkTimeout = TimeSpan.FromSeconds(60) });

    private static ChatCompletionOptions Greedy(int maxTokens) => new() { Temperature = 0, MaxOutputTokenCount = maxTokens };

    [Fact]
    public async Task CompleteChat_PlainAndStreamed_SameTextAndUsage()
    {
        ChatMessage[] messages = [new SystemChatMessage("Be brief."), new UserChatMessage("Hello there, who are you?")];
        ChatCompletion whole = await Client().CompleteChatAsync(messages, Greedy(12));
        Assert.Equal(ChatFinishReason.Length, whole.FinishReason);
        Assert.Equal(12, whole.Usage.OutputTokenCount);
        Assert.StartsWith("chatcmpl-", whole.Id, StringComparison.Ordinal);

        // The prompt the server counted is the template's rendering, tokenized (checked through /tokenize).
        var tokenized = await server.Http.PostAsJsonAsync("/tokenize", new { messages = new object[] { new { role = "system", content = "Be brief." }, new { role = "user", content = "Hello there, who are you?" } } });
        Assert.Equal(whole.Usage.InputTokenCount, (await tokenized.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("count").GetInt32());

        var streamed = new StringBuilder();
        ChatFinishReason? finish = null;
        var options = Greedy(12);
        await foreach (var update in Client().CompleteChatStreamingAsync(messages, options))
        {
            foreach (var part in update.ContentUpdate)
            {
                streamed.Append(part.Text);
            }
            finish ??= update.FinishReason;
        }
        Assert.Equal(whole.Content.Count == 0 ? "" : whole.Content[0].Text, streamed.ToString());
        Assert.Equal(ChatFinishReason.Length, finish);
    }

    [Fact]
    public async Task CompleteChat_SameSeed_SameText_AndStopStringEndsIt()
    {
        var options = new ChatCompletionOptions { Temperature = 1.0f, MaxOutputTokenCount = 16, Seed = 42 };
        ChatMessage[] messages = [new UserChatMessage("Tell me a story.")];
        ChatCompletion a = await Client().CompleteChatAsync(messages, options);
        ChatCompletion b = await Client().CompleteChatAsync(messages, options);
        Assert.Equal(a.Content[0].Text, b.Content[0].Text);

        // A stop string taken from the middle of that text: the answer ends right before it, with finish reason stop.
        var text = a.Content[0].Text;
        Assert.True(text.Length >= 4, $"expected some text, got '{text}'");
        var stop = text.Substring(text.Length / 2, 2);
        var stopped = new ChatCompletionOptions { Temperature = 1.0f, MaxOutputTokenCount = 16, Seed = 42 };
        stopped.StopSequences.Add(stop);
        ChatCompletion c = await Client().CompleteChatAsync(messages, stopped);
        Assert.Equal(text[..text.IndexOf(stop, StringComparison.Ordinal)], c.Content.Count == 0 ? "" : c.Content[0].Text);
        Assert.Equal(ChatFinishReason.Stop, c.FinishReason);
    }

    [Fact]
    public async Task CompleteChat_WithTools_RequestAcceptedAndToolsInThePrompt()
    {
        var tool = ChatTool.CreateFunctionTool("get_weather", "Weather of a city", BinaryData.FromString("""{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}"""));
        var options = Greedy(4);
        options.Tools.Add(tool);
        ChatCompletion result = await Client().CompleteChatAsync([new UserChatMessage("Weather in Paris?")], options);
        Assert.NotNull(result);

        // The prompt carries the tool schema exactly as the template renders it (json.dumps form).
        var tokens = await server.Http.PostAsJsonAsync("/tokenize", new { messages = new[] { new { role = "user", content = "Weather in Paris?" } }, tools = new[] { new { type = "function", function = new { name = "get_weather", description = "Weather of a city", parameters = JsonDocument.Parse("""{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}""").RootElement } } } });
        var ids = (await tokens.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("tokens").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        var prompt = server.Model.Tokenizer.Decode(ids);
        Assert.Contains("{\"type\": \"function\", \"function\": {\"name\": \"get_weather\", \"description\": \"Weather of a city\", \"parameters\": {\"type\": \"object\", \"properties\": {\"city\": {\"type\": \"string\"}}, \"required\": [\"city\"]}}}", prompt, StringComparison.Ordinal);
        Assert.Equal(result.Usage.InputTokenCount, ids.Length);
    }

    [Fact]
    public async Task CompleteChat_BadInput_SurfacesAsClientResultExceptionWithStatus()
    {
        var tooHot = new ChatCompletionOptions { Temperature = 3f };
        var e400 = await Assert.ThrowsAsync<ClientResultException>(() => Client().CompleteChatAsync([new UserChatMessage("x")], tooHot));
        Assert.Equal(400, e400.Status);
        Assert.Contains("temperature", e400.Message, StringComparison.Ordinal);

        var e404 = await Assert.ThrowsAsync<ClientResultException>(() => Client("gpt-4o").CompleteChatAsync([new UserChatMessage("x")], Greedy(2)));
        Assert.Equal(404, e404.Status);

        var tooLong = await Assert.ThrowsAsync<ClientResultException>(() => Client().CompleteChatAsync([new UserChatMessage(string.Join(" ", Enumerable.Repeat("word", 600)))], Greedy(2)));
        Assert.Equal(400, tooLong.Status);
        Assert.Contains("context_length_exceeded", tooLong.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RawChat_NGreaterThanOne_IndexedChoicesReproducibleWithSeed()
    {
        var body = new { model = server.Model.Name, messages = new[] { new { role = "user", content = "Hi" } }, n = 3, max_tokens = 6, temperature = 1.0, seed = 7 };
        var first = await (await server.Http.PostAsJsonAsync("/v1/chat/completions", body)).Content.ReadFromJsonAsync<JsonElement>();
        var second = await (await server.Http.PostAsJsonAsync("/v1/chat/completions", body)).Content.ReadFromJsonAsync<JsonElement>();
        var choices = first.GetProperty("choices").EnumerateArray().ToList();
        Assert.Equal([0, 1, 2], choices.Select(c => c.GetProperty("index").GetInt32()));
        Assert.Equal(18, first.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
        Assert.Equal(first.GetProperty("choices").GetRawText(), second.GetProperty("choices").GetRawText());
    }
}
