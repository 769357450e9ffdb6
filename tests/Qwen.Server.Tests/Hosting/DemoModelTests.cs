using System.Net.Http.Json;
using System.Text.Json;

namespace Qwen.Server.Tests.Hosting;

/// <summary>
/// The demo model as a newcomer meets it (`--model demo`, the default): replies that end on their own, in varied tokens,
/// and generation_config.json's max_new_tokens (256) as the max_tokens of a request that sets none.
/// </summary>
public sealed class DemoModelTests(DemoModelTests.DemoServer server) : IClassFixture<DemoModelTests.DemoServer>
{
    private static readonly string[] Prompts =
    [
        "Hello! Who are you?", "What is the capital of France?", "Write a haiku about the sea.", "What's the weather in Paris?",
        "Tell me a joke.", "Explain recursion briefly.", "hi", "Translate 'good morning' into German.",
    ];

    [Fact]
    public async Task HundredSeededReplies_MostEndWithStopWithin256Tokens_InVariedTokens()
    {
        // The README's requests send no max_tokens and no sampling fields: the generation config's (temperature 0.7,
        // top_p 0.8, top_k 20, repetition_penalty 1.05, max_new_tokens 256) apply. Measured: 93 of 100 end with stop.
        var replies = await Task.WhenAll(Enumerable.Range(0, 100).Select(async i =>
        {
            var json = await ChatAsync(new { messages = new[] { new { role = "user", content = Prompts[i % Prompts.Length] } }, seed = i, logprobs = true });
            var choice = json.GetProperty("choices")[0];
            var tokens = choice.GetProperty("logprobs").GetProperty("content").EnumerateArray().Select(t => t.GetProperty("token").GetString()!).ToList();
            return (Finish: choice.GetProperty("finish_reason").GetString(), Completion: json.GetProperty("usage").GetProperty("completion_tokens").GetInt32(), Tokens: tokens);
        }));

        var stops = replies.Count(r => r.Finish == "stop");
        Assert.True(stops >= 90, $"{stops} of 100 replies ended with stop");
        Assert.All(replies.Where(r => r.Finish == "length"), r => Assert.Equal(256, r.Completion));
        Assert.All(replies.Where(r => r.Finish == "stop"), r => Assert.True(r.Completion < 256));
        // Varied: thousands of distinct tokens over the replies (the tests' sharp model repeats one "\n" in all of them), and
        // no reply of more than a few tokens is one token repeated.
        var distinct = replies.SelectMany(r => r.Tokens).Distinct().Count();
        Assert.True(distinct >= 2000, $"{distinct} distinct tokens in 100 replies");
        Assert.All(replies.Where(r => r.Tokens.Count > 4), r => Assert.True(r.Tokens.Distinct().Count() > 1, string.Concat(r.Tokens)));
    }

    [Theory]
    [InlineData(null, 256)] // unset: max_new_tokens
    [InlineData(300, 300)] // a default, not a cap
    [InlineData(5, 5)]
    public async Task MaxTokens_UnsetTakesMaxNewTokens_GivenWins(int? maxTokens, int expected)
    {
        // ignore_eos: the reply runs to its limit, whatever the weights would do.
        var json = await ChatAsync(new { messages = new[] { new { role = "user", content = "Hello" } }, max_tokens = maxTokens, ignore_eos = true, seed = 1 });
        Assert.Equal(expected, json.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
        Assert.Equal("length", json.GetProperty("choices")[0].GetProperty("finish_reason").GetString());
    }

    [Fact]
    public async Task MaxTokensUnset_APromptThatLeavesLessThanMaxNewTokens_GetsTheRoomLeft()
    {
        var tokens = await server.Http.PostAsJsonAsync("/tokenize", new { messages = new[] { new { role = "user", content = Words(300) } }, add_generation_prompt = true });
        var promptTokens = JsonDocument.Parse(await tokens.Content.ReadAsStringAsync()).RootElement.GetProperty("count").GetInt32();
        Assert.InRange(promptTokens, 512 - 255, 511); // leaves less than 256 of the fixture's 512
        var json = await ChatAsync(new { messages = new[] { new { role = "user", content = Words(300) } }, ignore_eos = true });
        Assert.Equal(512 - promptTokens, json.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
    }

    /// <summary>Posts a chat request; the answer must be a 200.</summary>
    private async Task<JsonElement> ChatAsync(object body)
    {
        using var response = await server.Http.PostAsJsonAsync("/v1/chat/completions", body);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, text);
        return JsonDocument.Parse(text).RootElement;
    }

    private static string Words(int n) => string.Join(' ', Enumerable.Repeat("hello", n));

    /// <summary>The server on the demo model (tiny preset, 8 slots of 512 tokens) from the shared test cache.</summary>
    public sealed class DemoServer() : ServerFixture(["--model", "demo", "--max-num-seqs", "8", "--max-waiting", "128", "--max-seqs-per-request", "1", "--model-cache-dir", Qwen.OnnxExport.RandomModelCache.DefaultRoot]);
}
