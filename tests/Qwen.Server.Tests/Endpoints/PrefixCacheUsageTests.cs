using System.ClientModel;
using System.Net.Http.Json;
using System.Text.Json;
using OpenAI;
using OpenAI.Chat;

namespace Qwen.Server.Tests.Endpoints;

/// <summary>
/// <c>usage.prompt_tokens_details.cached_tokens</c> through the official OpenAI client, and the prefix cache metrics, on the
/// real server with the tiny test model. The expected counts come from <c>/tokenize</c> (the template and tokenizer
/// alone): a turn that resends the conversation reuses exactly the tokens it shares with what the cache holds. In the
/// robustness collection, which runs alone: /metrics sums every server in the test process.
/// </summary>
[Collection(Robustness.RobustnessCollection.Name)]
public sealed class PrefixCacheUsageTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    private ChatClient Client() => new(server.Model.Name, new ApiKeyCredential("unused"), new OpenAIClientOptions { Endpoint = new Uri(server.BaseAddress, "/v1"), NetworkTimeout = TimeSpan.FromSeconds(60) });

    private static ChatCompletionOptions Greedy(int maxTokens) => new() { Temperature = 0, MaxOutputTokenCount = maxTokens };

    [Fact]
    public async Task NextTurn_CachedTokensAreThePromptItSharesWithTheLastTurn_AndTheMetricsCountThem()
    {
        var system = $"{Guid.NewGuid():N}: you are a test agent."; // a system prompt no earlier request sent
        ChatMessage[] first = [new SystemChatMessage(system), new UserChatMessage("What is the weather in Oslo?")];
        var before = await Metrics();
        ChatCompletion one = await Client().CompleteChatAsync(first, Greedy(8));
        Assert.InRange(one.Usage.InputTokenDetails.CachedTokenCount, 0, 4); // at most the template's opening, shared with earlier requests

        // The next turn with a reply of the agent's own (not the model's text): the shared prefix is the first prompt's
        // tokens as /tokenize renders both, and the server must reuse exactly that many.
        ChatMessage[] second = [.. first, new AssistantChatMessage("It is sunny."), new UserChatMessage("And in Bergen?")];
        ChatCompletion two = await Client().CompleteChatAsync(second, Greedy(8));
        var shared = (await Tokenize(first, addGenerationPrompt: true)).Zip(await Tokenize(second, addGenerationPrompt: true)).TakeWhile(p => p.First == p.Second).Count();
        Assert.True(shared > 20, $"the two prompts share only {shared} tokens");
        Assert.Equal(shared, two.Usage.InputTokenDetails.CachedTokenCount);

        var after = await Metrics();
        Assert.Equal(one.Usage.InputTokenCount + two.Usage.InputTokenCount, after.Queries - before.Queries);
        Assert.Equal(one.Usage.InputTokenDetails.CachedTokenCount + shared, after.Hits - before.Hits);
        Assert.Equal(2, after.HitLookups + after.MissLookups - before.HitLookups - before.MissLookups);
        Assert.Equal(one.Usage.InputTokenDetails.CachedTokenCount > 0 ? 2 : 1, after.HitLookups - before.HitLookups);

        // Streamed, with the model's own reply resent (as an agent appends it): the whole last prompt is reused, but for its
        // final "\n" when the reply starts with white space that BPE merges into it.
        ChatMessage[] third = [.. second, new AssistantChatMessage(two.Content[0].Text), new UserChatMessage("Thanks.")];
        ChatTokenUsage? usage = null;
        await foreach (var update in Client().CompleteChatStreamingAsync(third, new ChatCompletionOptions { Temperature = 0, MaxOutputTokenCount = 4 }))
        {
            usage ??= update.Usage;
        }
        Assert.NotNull(usage);
        Assert.InRange(usage.InputTokenDetails.CachedTokenCount, two.Usage.InputTokenCount - 1, usage.InputTokenCount - 1);
    }

    [Fact]
    public async Task TwoChoices_ThePromptIsReportedOnce_AndRepeatedItIsAllCachedButItsLastToken()
    {
        var body = new { messages = new[] { new { role = "user", content = $"Count to three {Guid.NewGuid():N}" } }, n = 2, max_tokens = 3, temperature = 0 };
        var first = await Usage(body);
        var again = await Usage(body);
        Assert.Equal(first.Prompt, again.Prompt);
        Assert.Equal(again.Prompt - 1, again.Cached);
        Assert.InRange(first.Cached, 0, again.Cached - 1); // the default system prompt may be cached from the other test, not all of it
    }

    private async Task<(int Prompt, int Cached)> Usage(object body)
    {
        using var response = await server.Http.PostAsJsonAsync("/v1/chat/completions", body);
        var usage = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("usage");
        return (usage.GetProperty("prompt_tokens").GetInt32(), usage.GetProperty("prompt_tokens_details").GetProperty("cached_tokens").GetInt32());
    }

    private async Task<int[]> Tokenize(ChatMessage[] messages, bool addGenerationPrompt)
    {
        var wire = messages.Select(m => new { role = Role(m), content = m.Content[0].Text }).ToArray();
        using var response = await server.Http.PostAsJsonAsync("/tokenize", new { messages = wire, add_generation_prompt = addGenerationPrompt });
        return [.. (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("tokens").EnumerateArray().Select(t => t.GetInt32())];
    }

    private static string Role(ChatMessage m) => m switch
    {
        SystemChatMessage => "system",
        UserChatMessage => "user",
        AssistantChatMessage => "assistant",
        _ => throw new ArgumentException(m.GetType().Name),
    };

    private async Task<(double Queries, double Hits, double HitLookups, double MissLookups)> Metrics()
    {
        var text = await server.Http.GetStringAsync("/metrics");
        double Value(string name) => text.Split('\n').Where(l => l.StartsWith(name + " ", StringComparison.Ordinal)).Select(l => double.Parse(l[(name.Length + 1)..], System.Globalization.CultureInfo.InvariantCulture)).SingleOrDefault();
        return (Value("qwen_prefix_cache_queries_total"), Value("qwen_prefix_cache_hits_total"), Value("qwen_prefix_cache_lookups_total{result=\"hit\"}"), Value("qwen_prefix_cache_lookups_total{result=\"miss\"}"));
    }
}
