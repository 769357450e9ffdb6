using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace Qwen.Server.Tests.Endpoints;

/// <summary>
/// Text completions, models (with the card's generation_config and random_weights), tokenize/detokenize (a forced
/// tool_choice's opening included), health, metrics and Swagger over raw HTTP with the tiny model.
/// </summary>
public sealed class OtherEndpointsTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    private async Task<JsonElement> Post(string path, object body)
    {
        using var response = await server.Http.PostAsJsonAsync(path, body);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        return JsonDocument.Parse(text).RootElement;
    }

    [Fact]
    public async Task Completions_TextAndTokenIdPrompts_SameAnswer_EchoAndLegacyLogprobs()
    {
        var ids = server.Model.Tokenizer.Encode("The capital of France is");
        var byText = await Post("/v1/completions", new { prompt = "The capital of France is", max_tokens = 5, temperature = 0, ignore_eos = true });
        var byIds = await Post("/v1/completions", new { prompt = ids, max_tokens = 5, temperature = 0, ignore_eos = true });
        Assert.Equal("text_completion", byText.GetProperty("object").GetString());
        Assert.StartsWith("cmpl-", byText.GetProperty("id").GetString(), StringComparison.Ordinal);
        var text = byText.GetProperty("choices")[0].GetProperty("text").GetString()!;
        Assert.Equal(text, byIds.GetProperty("choices")[0].GetProperty("text").GetString());
        Assert.Equal(ids.Length, byText.GetProperty("usage").GetProperty("prompt_tokens").GetInt32());

        var echoed = await Post("/v1/completions", new { prompt = "The capital of France is", max_tokens = 5, temperature = 0, ignore_eos = true, echo = true, logprobs = 2 });
        var choice = echoed.GetProperty("choices")[0];
        Assert.Equal("The capital of France is" + text, choice.GetProperty("text").GetString());
        // With echo the prompt's tokens come first, with null logprobs (the graph gives logits for the last position only).
        var lp = choice.GetProperty("logprobs");
        Assert.Equal(ids.Length + 5, lp.GetProperty("tokens").GetArrayLength());
        Assert.Equal(ids.Select(id => server.Model.Tokenizer.Decode([id])), lp.GetProperty("tokens").EnumerateArray().Take(ids.Length).Select(t => t.GetString()));
        Assert.All(lp.GetProperty("token_logprobs").EnumerateArray().Take(ids.Length), v => Assert.Equal(JsonValueKind.Null, v.ValueKind));
        Assert.All(lp.GetProperty("top_logprobs").EnumerateArray().Take(ids.Length), v => Assert.Equal(JsonValueKind.Null, v.ValueKind));
        Assert.All(lp.GetProperty("token_logprobs").EnumerateArray().Skip(ids.Length), v => Assert.True(v.GetSingle() <= 0));
        Assert.All(lp.GetProperty("top_logprobs").EnumerateArray().Skip(ids.Length), d => Assert.InRange(d.EnumerateObject().Count(), 1, 2));
        Assert.Equal(0, lp.GetProperty("text_offset")[0].GetInt32());
        Assert.Equal("The capital of France is".Length, lp.GetProperty("text_offset")[ids.Length].GetInt32());
    }

    [Fact]
    public async Task ChatLogprobs_ChosenTokenIsTopAlternativeWhenGreedy()
    {
        var result = await Post("/v1/chat/completions", new { messages = new[] { new { role = "user", content = "Hi" } }, max_tokens = 3, temperature = 0, logprobs = true, top_logprobs = 3 });
        foreach (var entry in result.GetProperty("choices")[0].GetProperty("logprobs").GetProperty("content").EnumerateArray())
        {
            var top = entry.GetProperty("top_logprobs");
            Assert.Equal(3, top.GetArrayLength());
            Assert.Equal(entry.GetProperty("token").GetString(), top[0].GetProperty("token").GetString());
            Assert.Equal(entry.GetProperty("logprob").GetSingle(), top[0].GetProperty("logprob").GetSingle(), 4);
        }
    }

    [Fact]
    public async Task Models_ListAndRetrieve()
    {
        var list = await server.Http.GetFromJsonAsync<JsonElement>("/v1/models");
        Assert.Equal("list", list.GetProperty("object").GetString());
        var id = list.GetProperty("data")[0].GetProperty("id").GetString()!;
        Assert.Equal(server.Model.Name, id);
        var one = await server.Http.GetFromJsonAsync<JsonElement>($"/v1/models/{id}");
        Assert.Equal("model", one.GetProperty("object").GetString());
        Assert.Equal(512, one.GetProperty("max_model_len").GetInt32());
    }

    [Fact]
    public async Task TokenizeDetokenize_RoundTripInVllmShapes()
    {
        var tokens = await Post("/tokenize", new { prompt = "Hello, 世界 <tool_call>" });
        var ids = tokens.GetProperty("tokens").EnumerateArray().Select(t => t.GetInt32()).ToArray();
        Assert.Equal(server.Model.Tokenizer.Encode("Hello, 世界 <tool_call>"), ids);
        Assert.Equal(ids.Length, tokens.GetProperty("count").GetInt32());
        Assert.Equal(512, tokens.GetProperty("max_model_len").GetInt32());
        var text = await Post("/detokenize", new { tokens = ids });
        Assert.Equal("Hello, 世界 <tool_call>", text.GetProperty("prompt").GetString());

        var chat = await Post("/tokenize", new { messages = new[] { new { role = "user", content = "Hi" } }, add_generation_prompt = false });
        Assert.Equal("<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n",
            server.Model.Tokenizer.Decode(chat.GetProperty("tokens").EnumerateArray().Select(t => t.GetInt32()).ToArray()));
    }

    [Fact]
    public async Task ModelCard_GenerationConfigAndRandomWeights_AsTheModelDirectorySays()
    {
        var card = (await server.Http.GetFromJsonAsync<JsonElement>("/v1/models")).GetProperty("data")[0];
        using var config = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(server.Model.Directory, "generation_config.json")));
        var expected = config.RootElement;
        var shown = card.GetProperty("generation_config");
        Assert.Equal(expected.GetProperty("temperature").GetDouble(), shown.GetProperty("temperature").GetDouble(), 6);
        Assert.Equal(expected.GetProperty("top_p").GetDouble(), shown.GetProperty("top_p").GetDouble(), 6);
        Assert.Equal(expected.GetProperty("top_k").GetInt32(), shown.GetProperty("top_k").GetInt32());
        Assert.Equal(expected.GetProperty("repetition_penalty").GetDouble(), shown.GetProperty("repetition_penalty").GetDouble(), 6);
        Assert.Equal(JsonValueKind.Null, shown.GetProperty("max_tokens").ValueKind); // the test model sets no max_new_tokens
        using var manifest = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(server.Model.Directory, "manifest.json")));
        Assert.Equal(manifest.RootElement.GetProperty("source").GetProperty("random_preset").GetString(), card.GetProperty("random_weights").GetString());
    }

    [Fact]
    public async Task Tokenize_ForcedToolChoice_CountsThePromptTheChatRequestUses()
    {
        var tools = new[] { new { type = "function", function = new { name = "get_weather", parameters = new { type = "object", properties = new { city = new { type = "string" } }, required = new[] { "city" } } } } };
        var messages = new[] { new { role = "user", content = "Weather in Paris?" } };
        var toolChoice = new { type = "function", function = new { name = "get_weather" } };
        var chat = await Post("/v1/chat/completions", new { messages, tools, tool_choice = toolChoice, max_tokens = 1 });
        var forced = await Post("/tokenize", new { messages, tools, tool_choice = toolChoice });
        var free = await Post("/tokenize", new { messages, tools });
        Assert.Equal(chat.GetProperty("usage").GetProperty("prompt_tokens").GetInt32(), forced.GetProperty("count").GetInt32());
        Assert.True(forced.GetProperty("count").GetInt32() > free.GetProperty("count").GetInt32());
        var opening = server.Model.Tokenizer.Decode(forced.GetProperty("tokens").EnumerateArray().Skip(free.GetProperty("count").GetInt32()).Select(t => t.GetInt32()).ToArray());
        Assert.StartsWith("<tool_call>\n{\"name\": \"get_weather\"", opening, StringComparison.Ordinal);
    }

    [Fact]
    public async Task HealthMetricsSwagger_Answer()
    {
        Assert.Equal(HttpStatusCode.OK, (await server.Http.GetAsync("/health")).StatusCode);
        var ready = await server.Http.GetFromJsonAsync<JsonElement>("/health/ready");
        Assert.Equal("ready", ready.GetProperty("status").GetString());
        await Post("/v1/chat/completions", new { messages = new[] { new { role = "user", content = "Hi" } }, max_tokens = 2 });
        // Names only here (this process's registry is shared by every test server); Observability/RequestRecordTests
        // checks that the counters move by exactly each request's outcome, in a server process of its own.
        var metrics = await server.Http.GetStringAsync("/metrics");
        foreach (var name in new[] { "qwen_requests_running", "qwen_requests_waiting", "qwen_kv_cache_usage_ratio", "qwen_time_to_first_token_seconds_bucket", "qwen_inter_token_latency_seconds", "qwen_e2e_request_latency_seconds", "qwen_prompt_tokens_total", "qwen_generation_tokens_total", "qwen_requests_finished_total" })
        {
            Assert.Contains(name, metrics, StringComparison.Ordinal);
        }
        var swagger = await server.Http.GetStringAsync("/swagger/v1/swagger.json");
        Assert.Contains("/v1/chat/completions", swagger, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, (await server.Http.GetAsync("/swagger/index.html")).StatusCode);
    }
}
