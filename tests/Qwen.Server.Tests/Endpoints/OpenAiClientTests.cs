#pragma warning disable OPENAI001 // Seed is marked experimental in the OpenAI client
using System.ClientModel;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using OpenAI;
using OpenAI.Chat;

namespace Qwen.Server.Tests.Endpoints;

/// <summary>The official OpenAI .NET client, base URL swapped, against the real server with the tiny test model over a real socket.</summary>
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
    public async Task StreamedLogprobs_RealModel_SameTokensAndNumbersAsWhole()
    {
        var options = new ChatCompletionOptions { Temperature = 0, MaxOutputTokenCount = 8, IncludeLogProbabilities = true, TopLogProbabilityCount = 3 };
        ChatMessage[] messages = [new UserChatMessage("Count to five.")];
        ChatCompletion whole = await Client().CompleteChatAsync(messages, options);
        var streamed = new List<ChatTokenLogProbabilityDetails>();
        await foreach (var update in Client().CompleteChatStreamingAsync(messages, options))
        {
            streamed.AddRange(update.ContentTokenLogProbabilities);
        }
        Assert.Equal(8, whole.ContentTokenLogProbabilities.Count);
        Assert.Equal(whole.ContentTokenLogProbabilities.Select(d => d.Token), streamed.Select(d => d.Token));
        Assert.Equal(whole.ContentTokenLogProbabilities.Select(d => Convert.ToHexString(d.Utf8Bytes?.ToArray() ?? [])), streamed.Select(d => Convert.ToHexString(d.Utf8Bytes?.ToArray() ?? [])));
        for (var i = 0; i < streamed.Count; i++)
        {
            Assert.Equal(whole.ContentTokenLogProbabilities[i].LogProbability, streamed[i].LogProbability, 4);
            Assert.Equal(whole.ContentTokenLogProbabilities[i].TopLogProbabilities.Select(t => t.Token), streamed[i].TopLogProbabilities.Select(t => t.Token));
        }
    }

    [Fact]
    public async Task RawChat_NThreeStreamed_PerIndexRoleFirstOwnFinish_AccumulatesToTheWholeAnswer()
    {
        // Temperature 2 and no truncation: the tiny random model's choices then differ from seed to seed.
        var body = new { messages = new[] { new { role = "user", content = "Tell me a story." } }, n = 3, max_tokens = 6, temperature = 2.0, top_p = 1.0, top_k = 0, seed = 11 };
        var whole = await (await server.Http.PostAsJsonAsync("/v1/chat/completions", body)).Content.ReadFromJsonAsync<JsonElement>();
        var expected = whole.GetProperty("choices").EnumerateArray().Select(c => c.GetProperty("message").GetProperty("content").GetString() ?? "").ToList();
        Assert.True(expected.Distinct().Count() > 1, "choices with seeds 11, 12, 13 should differ: " + whole.GetRawText());

        using var response = await server.Http.PostAsJsonAsync("/v1/chat/completions", new { body.messages, body.n, body.max_tokens, body.temperature, body.top_p, body.top_k, body.seed, stream = true });
        var choices = (await response.Content.ReadAsStringAsync()).Split("\n\n", StringSplitOptions.RemoveEmptyEntries)
            .Select(e => e["data: ".Length..]).Where(e => e != "[DONE]")
            .SelectMany(e => JsonDocument.Parse(e).RootElement.GetProperty("choices").EnumerateArray()).ToList();
        for (var i = 0; i < 3; i++)
        {
            var mine = choices.Where(c => c.GetProperty("index").GetInt32() == i).ToList();
            Assert.Equal("assistant", mine[0].GetProperty("delta").GetProperty("role").GetString());
            Assert.Single(mine, c => c.GetProperty("finish_reason").ValueKind == JsonValueKind.String);
            Assert.Equal("length", mine[^1].GetProperty("finish_reason").GetString());
            Assert.Equal(expected[i], string.Concat(mine.Select(c => c.GetProperty("delta").TryGetProperty("content", out var t) ? t.GetString() : "")));
        }
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
