using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Qwen.Reference;
using Xunit.Abstractions;

namespace Qwen.Server.Tests.Endpoints;

/// <summary>
/// A prompt past YaRN's original 32,768 positions through the whole server (HTTP, scheduler, chunked prefill, KV cache,
/// sampler) against the naive double-precision reference reading the same checkpoint: the greedy continuation, and the
/// top logprobs of every step. With tied embeddings the tiny model mostly repeats its input, so the logprobs, not the
/// text alone, are what show that positions beyond 32,768 are rotated as YaRN says.
/// </summary>
public sealed class LongContextCompletionTests(YarnServerFixture server, ITestOutputHelper output) : IClassFixture<YarnServerFixture>
{
    private const int PromptLength = 40_500;
    private const int MaxTokens = 8;
    private const int TopLogprobs = 5;

    // The server's float32 logits agree with the reference within 1e-4 (Qwen.OnnxExport.Tests' YarnLongContextTests);
    // a logprob adds the log-sum-exp's error to it.
    private const double LogprobTolerance = 1e-3;

    // A greedy pick closer than this to the runner-up could flip on float noise (logits agree within 1e-4); seed 19's
    // smallest margin is 3.2.
    private const double MinMargin = 0.05;

    [Fact]
    public async Task PromptOf40500Ids_GreedyContinuation_EqualsTheReferences()
    {
        var random = new Random(19);
        var prompt = Enumerable.Range(0, PromptLength).Select(_ => random.Next(151_643)).ToArray(); // ordinary tokens only
        var reference = Task.Run(() =>
        {
            var sequence = new ReferenceQwen2(Path.Combine(YarnServerFixture.ModelDirectory, "source")).Start(PromptLength + MaxTokens);
            return sequence.Greedy(sequence.Prefill(prompt), MaxTokens);
        });

        var body = new JsonObject
        {
            ["prompt"] = new JsonArray(prompt.Select(id => (JsonNode)id).ToArray()),
            ["max_tokens"] = MaxTokens,
            ["temperature"] = 0,
            ["repetition_penalty"] = 1.0, // generation_config.json's 1.05 would divide the repeated token's logit (and logprob)
            ["ignore_eos"] = true,
            ["logprobs"] = TopLogprobs,
        };
        var (status, response) = await PostAsync("/v1/completions", body.ToJsonString());
        Assert.True(status == HttpStatusCode.OK, response.ToString());
        var steps = await reference;

        output.WriteLine($"reference tokens: {string.Join(' ', steps.Select(s => s.Token))}; smallest top-2 margin {steps.Min(s => s.Margin):F3}");
        Assert.All(steps, s => Assert.True(s.Margin > MinMargin, $"near-tie: token {s.Token} leads by {s.Margin}"));
        Assert.Equal(PromptLength, response.GetProperty("usage").GetProperty("prompt_tokens").GetInt32());
        Assert.All(steps, s => Assert.InRange(s.Token, 0, 151_664)); // ids the tokenizer can decode

        var (_, detokenized) = await PostAsync("/detokenize", JsonSerializer.Serialize(new { tokens = steps.Select(s => s.Token) }));
        var choice = response.GetProperty("choices")[0];
        Assert.Equal(detokenized.GetProperty("prompt").GetString(), choice.GetProperty("text").GetString());

        var logprobs = choice.GetProperty("logprobs");
        var chosen = logprobs.GetProperty("token_logprobs").EnumerateArray().Select(e => e.GetDouble()).ToArray();
        var top = logprobs.GetProperty("top_logprobs").EnumerateArray().Select(e => e.EnumerateObject().Select(p => p.Value.GetDouble()).OrderDescending().ToArray()).ToArray();
        Assert.Equal(MaxTokens, chosen.Length);
        var worst = 0.0;
        for (var i = 0; i < MaxTokens; i++)
        {
            var expectedTop = Enumerable.Range(0, steps[i].Logits.Length).OrderByDescending(id => steps[i].Logits[id]).Take(TopLogprobs).Select(steps[i].LogProb).ToArray();
            Assert.Equal(TopLogprobs, top[i].Length);
            worst = Math.Max(worst, Math.Abs(chosen[i] - steps[i].LogProb(steps[i].Token)));
            worst = Math.Max(worst, expectedTop.Zip(top[i], (e, a) => Math.Abs(e - a)).Max());
        }
        output.WriteLine($"max |server logprob - reference| over {MaxTokens} steps x top {TopLogprobs}: {worst:E3}");
        Assert.True(worst < LogprobTolerance, $"logprob error {worst} exceeds {LogprobTolerance}");
    }

    [Fact]
    public async Task PromptLongerThanTheSlot_400NamesTheLimitAndTheCount()
    {
        const int tooLong = YarnServerFixture.MaxModelLen + 100;
        var (status, response) = await PostAsync("/v1/completions", JsonSerializer.Serialize(new { prompt = Enumerable.Repeat(9707, tooLong), max_tokens = 1 }));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        var error = response.GetProperty("error");
        Assert.Equal("context_length_exceeded", error.GetProperty("code").GetString());
        var message = error.GetProperty("message").GetString()!;
        Assert.Contains($"maximum context length is {YarnServerFixture.MaxModelLen} tokens", message, StringComparison.Ordinal);
        Assert.Contains($"{tooLong} in the prompt", message, StringComparison.Ordinal);
    }

    private async Task<(HttpStatusCode Status, JsonElement Body)> PostAsync(string path, string json)
    {
        // Not the fixture's client: its 60 s timeout is tight for a 40K prefill on a busy 2-core machine.
        using var http = new HttpClient { BaseAddress = server.BaseAddress, Timeout = TimeSpan.FromMinutes(5) };
        using var response = await http.PostAsync(path, new StringContent(json, Encoding.UTF8, "application/json"));
        return (response.StatusCode, JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone());
    }
}
