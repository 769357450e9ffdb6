using System.Net;
using System.Text;
using System.Text.Json;

namespace Qwen.Server.Tests.Streaming;

/// <summary>
/// Streams with several choices, sampling defaults from generation_config.json, and streamed text completions with
/// legacy logprobs, on the scripted server with 8 slots.
/// </summary>
public sealed class BatchStreamingTests(BatchScriptedServerFixture server) : IClassFixture<BatchScriptedServerFixture>
{
    [Fact]
    public async Task StreamNThree_ChoicesInterleaved_EachIndexRoleFirstThenContentThenOwnFinish()
    {
        const string Words = "w1 w2 w3 w4 w5 w6 w7 w8 w9 w10 w11 w12";
        // Held before the leader's third token; opened once the role chunks (written after all three choices are queued)
        // have arrived. From then on the scheduler interleaves the others' prefill with the leader's ten remaining decode
        // steps, so the others' first tokens come before the leader's last: the order follows from the scheduling rule.
        var gate = server.ScriptPaused("key-interleave", Words, pauseBefore: 2);
        var events = new List<(int Index, JsonElement Choice)>();
        try
        {
            using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            using var response = await server.Http.SendAsync(server.Post("/v1/chat/completions", """{"messages":[{"role":"user","content":"key-interleave"}],"n":3,"stream":true}"""), HttpCompletionOption.ResponseHeadersRead, bound.Token);
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(bound.Token));
            await gate.Reached.WaitAsync(bound.Token);
            while (events.Count < 3 && await reader.ReadLineAsync(bound.Token) is { } line)
            {
                Collect(line, events);
            }
            gate.Open();
            while (await reader.ReadLineAsync(bound.Token) is { } line)
            {
                Collect(line, events);
            }
        }
        finally
        {
            gate.Open();
        }

        Assert.Equal([0, 1, 2], events.Take(3).Select(e => e.Index));
        Assert.All(events.Take(3), e => Assert.Equal("assistant", e.Choice.GetProperty("delta").GetProperty("role").GetString()));
        for (var i = 0; i < 3; i++)
        {
            var mine = events.Where(e => e.Index == i).Select(e => e.Choice).ToList();
            Assert.Equal(Words, string.Concat(mine.Select(c => c.GetProperty("delta").TryGetProperty("content", out var t) ? t.GetString() : "")));
            Assert.Single(mine, c => c.GetProperty("finish_reason").ValueKind == JsonValueKind.String);
            Assert.Equal("stop", mine[^1].GetProperty("finish_reason").GetString());
        }
        var contentAt = events.Select((e, at) => (e.Index, At: at, HasText: e.Choice.GetProperty("delta").TryGetProperty("content", out var c) && c.GetString()!.Length > 0)).Where(e => e.HasText).ToList();
        var leader = contentAt[0].Index;
        var leaderLast = contentAt.Last(e => e.Index == leader).At;
        Assert.All(Enumerable.Range(0, 3).Where(i => i != leader), i => Assert.True(contentAt.First(e => e.Index == i).At < leaderLast, $"choice {i} began only after choice {leader} ended"));
    }

    [Fact]
    public async Task UnsetSamplingFields_TakeGenerationConfigValues()
    {
        // The tiny model's generation_config.json: temperature 0.7, top_p 0.8, top_k 20, repetition_penalty 1.05. Each case
        // leaves one field unset, fixes the others to neutral values, and gives the first token a logits row where only that
        // field's default changes what can be drawn; a control sets the field to a neutral value explicitly.
        var tk = server.Model.Tokenizer;
        int Id(string s) => Assert.Single(tk.Encode(s));
        var letters = Enumerable.Range(0, 21).Select(i => Id(((char)('A' + i)).ToString())).ToArray();

        // temperature 0.7: p(b) = 1/4 at T = 1, and at T = 0.7 token a alone holds over 0.8 of the mass, so top_p 0.8 keeps only a.
        server.ScriptLogits("key-default-temperature", new Dictionary<int, float> { [letters[0]] = 0, [letters[1]] = -MathF.Log(3) });
        Assert.Equal(["A"], await DrawsAsync("key-default-temperature", ""","top_p":0.8,"top_k":0,"repetition_penalty":1""", 10));
        Assert.Equal(["A", "B"], await DrawsAsync("key-default-temperature", ""","top_p":0.8,"top_k":0,"repetition_penalty":1,"temperature":1""", 10));

        // top_p 0.8 with probabilities 0.42, 0.42, 0.16: the first two reach 0.84, so C is never drawn.
        server.ScriptLogits("key-default-top-p", new Dictionary<int, float> { [letters[0]] = 0, [letters[1]] = 0, [letters[2]] = MathF.Log(0.16f / 0.42f) });
        Assert.Equal(["A", "B"], await DrawsAsync("key-default-top-p", ""","temperature":1,"top_k":0,"repetition_penalty":1""", 10));
        Assert.Equal(["A", "B", "C"], await DrawsAsync("key-default-top-p", ""","temperature":1,"top_k":0,"repetition_penalty":1,"top_p":1""", 10));

        // top_k 20 over 21 nearly equal tokens: the lowest (U) is never drawn.
        var row = letters.Take(20).ToDictionary(id => id, _ => 0f);
        row[letters[20]] = -0.001f;
        server.ScriptLogits("key-default-top-k", row);
        Assert.DoesNotContain("U", await DrawsAsync("key-default-top-k", ""","temperature":1,"top_p":1,"repetition_penalty":1""", 20));
        Assert.Contains("U", await DrawsAsync("key-default-top-k", ""","temperature":1,"top_p":1,"repetition_penalty":1,"top_k":0""", 20));

        // repetition_penalty 1.05 divides the positive logit of a prompt token: logprobs are taken after the penalty.
        var a = tk.Encode("key-rp-check")[0];
        var b = letters[20]; // U: not in the prompt
        server.ScriptLogits("key-rp-check", new Dictionary<int, float> { [a] = 4, [b] = 0 });
        var penalised = await LogprobAsync("key-rp-check", "");
        var prompt = server.Runner.PromptOf(tk.Encode("key-rp-check"))!;
        Assert.Contains(a, prompt);
        Assert.DoesNotContain(b, prompt);
        var l = 4 / 1.05;
        Assert.Equal(l - Math.Log(Math.Exp(l) + 1), penalised, 4);
        Assert.Equal(4 - Math.Log(Math.Exp(4) + 1), await LogprobAsync("key-rp-check", ""","repetition_penalty":1"""), 4);
    }

    [Fact]
    public async Task Completions_StreamedWithEchoAndLogprobs_ChunksConcatenateToTheWholeAnswer()
    {
        server.Script("key-cmpl", " one two three");
        var tk = server.Model.Tokenizer;
        var prompt = tk.Encode("key-cmpl");
        var generated = tk.Encode(" one two three");
        const string Body = """{"prompt":"key-cmpl","echo":true,"logprobs":2""";

        using var wholeResponse = await server.Http.SendAsync(server.Post("/v1/completions", Body + "}"));
        var whole = JsonDocument.Parse(await wholeResponse.Content.ReadAsStringAsync()).RootElement.GetProperty("choices")[0];
        Assert.Equal("key-cmpl one two three", whole.GetProperty("text").GetString());
        var lp = whole.GetProperty("logprobs");
        // Hand-computed: the prompt's tokens then the generated ones and <|im_end|>; offsets run over the returned text.
        var tokens = prompt.Concat(generated).Append(ScriptedRunner.ImEnd).Select(id => tk.Decode([id])).ToList();
        Assert.Equal(tokens, lp.GetProperty("tokens").EnumerateArray().Select(t => t.GetString()));
        var offsets = new List<int>();
        var at = 0;
        foreach (var t in tokens)
        {
            offsets.Add(at);
            at += t.Length;
        }
        Assert.Equal(offsets, lp.GetProperty("text_offset").EnumerateArray().Select(o => o.GetInt32()));
        Assert.Equal(prompt.Length, lp.GetProperty("token_logprobs").EnumerateArray().Count(v => v.ValueKind == JsonValueKind.Null));
        Assert.All(lp.GetProperty("token_logprobs").EnumerateArray().Skip(prompt.Length), v => Assert.InRange(v.GetSingle(), -1e-3f, 0f));

        using var streamResponse = await server.Http.SendAsync(server.Post("/v1/completions", Body + ""","stream":true,"stream_options":{"include_usage":true}}"""));
        var raw = await streamResponse.Content.ReadAsStringAsync();
        var events = raw.Split("\n\n", StringSplitOptions.RemoveEmptyEntries).Select(e => e["data: ".Length..]).ToList();
        Assert.Equal("[DONE]", events[^1]);
        var chunks = events.SkipLast(1).Select(e => JsonDocument.Parse(e).RootElement).ToList();
        Assert.All(chunks, c => Assert.Equal("text_completion", c.GetProperty("object").GetString()));
        Assert.Equal(prompt.Length + generated.Length + 1, chunks[^1].GetProperty("usage").GetProperty("total_tokens").GetInt32());
        var choices = chunks.SkipLast(1).Select(c => c.GetProperty("choices")[0]).ToList();
        Assert.Equal("key-cmpl", choices[0].GetProperty("text").GetString()); // the echo comes first
        Assert.Equal("stop", choices[^1].GetProperty("finish_reason").GetString());
        Assert.Equal(whole.GetProperty("text").GetString(), string.Concat(choices.Select(c => c.GetProperty("text").GetString())));
        foreach (var name in new[] { "tokens", "token_logprobs", "top_logprobs", "text_offset" })
        {
            var streamed = choices.Where(c => c.GetProperty("logprobs").ValueKind == JsonValueKind.Object).SelectMany(c => c.GetProperty("logprobs").GetProperty(name).EnumerateArray()).Select(v => v.GetRawText());
            Assert.Equal(lp.GetProperty(name).EnumerateArray().Select(v => v.GetRawText()), streamed);
        }
        // Each content chunk carries exactly the tokens of its text.
        foreach (var c in choices.Skip(1).Where(c => c.GetProperty("text").GetString()!.Length > 0))
        {
            Assert.Equal(c.GetProperty("text").GetString(), string.Concat(c.GetProperty("logprobs").GetProperty("tokens").EnumerateArray().Select(t => t.GetString())));
        }
    }

    private static void Collect(string line, List<(int, JsonElement)> events)
    {
        if (line.StartsWith("data: {", StringComparison.Ordinal))
        {
            foreach (var choice in JsonDocument.Parse(line[6..]).RootElement.GetProperty("choices").EnumerateArray())
            {
                events.Add((choice.GetProperty("index").GetInt32(), choice));
            }
        }
    }

    /// <summary>The distinct texts drawn by <paramref name="requests"/> requests of 8 choices, seeds 0, 1, 2, … (one per choice).</summary>
    private async Task<List<string>> DrawsAsync(string key, string fields, int requests)
    {
        var drawn = new SortedSet<string>(StringComparer.Ordinal);
        for (var r = 0; r < requests; r++)
        {
            var body = $$"""{"messages":[{"role":"user","content":"{{key}}"}],"n":8,"max_tokens":1,"seed":{{r * 8}}{{fields}}}""";
            foreach (var choice in (await JsonAsync(body)).GetProperty("choices").EnumerateArray())
            {
                drawn.Add(choice.GetProperty("message").GetProperty("content").GetString()!);
            }
        }
        return [.. drawn];
    }

    private async Task<double> LogprobAsync(string key, string fields)
    {
        var body = $$"""{"messages":[{"role":"user","content":"{{key}}"}],"max_tokens":1,"temperature":0,"logprobs":true{{fields}}}""";
        return (await JsonAsync(body)).GetProperty("choices")[0].GetProperty("logprobs").GetProperty("content")[0].GetProperty("logprob").GetDouble();
    }

    private async Task<JsonElement> JsonAsync(string body)
    {
        using var response = await server.Http.SendAsync(server.Post("/v1/chat/completions", body));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        return JsonDocument.Parse(text).RootElement;
    }
}
