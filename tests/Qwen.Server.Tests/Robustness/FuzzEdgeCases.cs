using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Qwen.Server.Tests.Robustness;

/// <summary>
/// Fixed cases the random generator would rarely hit: requests exactly at a limit (which must succeed, with the answer
/// checked) and one past it, megabyte strings, nesting 10,000 deep, and bodies at and just over the body-size limit.
/// </summary>
internal static class FuzzEdgeCases
{
    /// <summary>
    /// The golden rendering of [{"role":"user","content":"Hello!"}] (../shared/qwen2.5/golden/chat_template.jsonl,
    /// case user_only, rendered by the Qwen2.5 Jinja template in Python): the prompt whose length fixes the context left.
    /// </summary>
    public static string GoldenUserOnly => TemplateGolden.Load("user_only").Rendered;

    /// <summary>Raw UTF-8 on the wire: the default encoder would send "数" as the six bytes "\u6570" and push the megabyte cases over the body limit.</summary>
    private static readonly JsonSerializerOptions RawUtf8 = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private const string Chat = FuzzCaseGenerator.Chat, Completions = FuzzCaseGenerator.Completions, Tokenize = FuzzCaseGenerator.Tokenize, Detokenize = FuzzCaseGenerator.Detokenize;

    /// <summary>Cases at and past the limits; <paramref name="goldenPromptTokens"/> is the token count of <see cref="GoldenUserOnly"/>.</summary>
    public static IEnumerable<FuzzCase> AtLimits(string model, int goldenPromptTokens, int maxModelLen)
    {
        var left = maxModelLen - goldenPromptTokens;
        JsonObject Hello(int maxTokens) => new()
        {
            ["model"] = model,
            ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = "Hello!" }),
            ["max_tokens"] = maxTokens,
            ["temperature"] = 0,
            ["ignore_eos"] = true,
        };
        JsonObject Ids(int promptLength, int maxTokens) => new()
        {
            ["model"] = model,
            ["prompt"] = new JsonArray(Enumerable.Range(0, promptLength).Select(i => (JsonNode)JsonValue.Create(1000 + (i % 5000))).ToArray()),
            ["max_tokens"] = maxTokens,
            ["temperature"] = 0,
            ["ignore_eos"] = true,
        };

        // max_tokens exactly the context left: all of it is generated (ignore_eos), finish_reason length.
        yield return Json(Chat, "edge:max_tokens=context-left", Hello(left), true, Generated(left, "length"));
        yield return Json(Chat, "edge:max_tokens=context-left+1", Hello(left + 1), false, ErrorCode("context_length_exceeded"));
        yield return Json(Completions, "edge:prompt+max_tokens=context", Ids(100, maxModelLen - 100), true, Generated(maxModelLen - 100, "length"));
        yield return Json(Completions, "edge:prompt=context-1", Ids(maxModelLen - 1, 1), true, Generated(1, "length"));
        yield return Json(Completions, "edge:prompt=context", Ids(maxModelLen, 1), false, ErrorCode("context_length_exceeded"));
        yield return Json(Completions, "edge:prompt+max_tokens=context+1", Ids(100, maxModelLen - 99), false, ErrorCode("context_length_exceeded"));

        // n at the server's cap (MaxSeqsPerRequest), JSON and streamed: that many distinct choice indices; one more is a 400.
        const int Cap = LimitedServerFixture.MaxSeqsPerRequest;
        var atCap = Hello(2);
        atCap["n"] = Cap;
        yield return Json(Chat, "edge:n=cap", atCap, true, Choices(Cap));
        var atCapStream = (JsonObject)atCap.DeepClone();
        atCapStream["stream"] = true;
        yield return Json(Chat, "edge:n=cap+stream", atCapStream, true, null, stream: true);
        var overCap = Hello(2);
        overCap["n"] = Cap + 1;
        yield return Json(Chat, "edge:n=cap+1", overCap, false, ErrorParam("n"));

        // top_logprobs at its maximum (20): every sampled token carries 20 alternatives.
        var top20 = Hello(3);
        top20["logprobs"] = true;
        top20["top_logprobs"] = 20;
        yield return Json(Chat, "edge:top_logprobs=20", top20, true, TopLogprobs(20));
        var legacy5 = Ids(10, 3);
        legacy5["logprobs"] = 5;
        yield return Json(Completions, "edge:logprobs=5", legacy5, true, Choices(1));

        // Seeds at both ends of int64, with n=2 so choice 1 samples with seed + 1 (wrapping at the top).
        foreach (var seed in new[] { long.MaxValue, long.MinValue })
        {
            var seeded = Hello(2);
            seeded["seed"] = seed;
            seeded["n"] = 2;
            seeded["temperature"] = 1;
            yield return Json(Chat, $"edge:seed={seed}+n=2", seeded, true, Choices(2));
        }

        // 16 stop strings of 256 characters (the stated maximum), and logit_bias at both ends of ids and values.
        var stops = Hello(2);
        stops["stop"] = new JsonArray(Enumerable.Range(0, 16).Select(i => (JsonNode)JsonValue.Create(new string((char)('a' + i), 256))).ToArray());
        yield return Json(Chat, "edge:stop=16x256", stops, true, Choices(1));
        var bias = Hello(2);
        bias["logit_bias"] = new JsonObject { ["0"] = 100, [$"{FuzzMutations.Vocab - 1}"] = -100 };
        yield return Json(Chat, "edge:logit_bias-ends", bias, true, Choices(1));
    }

    /// <summary>Megabyte strings, 10,000-deep nesting and bodies around the size limit (<paramref name="maxBodyBytes"/>).</summary>
    public static IEnumerable<FuzzCase> Large(string model, int maxBodyBytes)
    {
        const int megabyte = 1_000_000;
        var words = string.Join(' ', Enumerable.Range(0, (megabyte / 6) + 1).Select(i => $"w{i % 10000:D4}"))[..megabyte];
        var cjk = string.Concat(Enumerable.Repeat("数据 ", (megabyte / 7) + 1))[..(megabyte / 3)]; // 1 MB of 3-byte UTF-8 words
        // Surrogate pairs (the exact pre-tokenizer path); the encoder escapes them as 12 bytes, so 1 MB on the wire.
        var emoji = string.Concat(Enumerable.Repeat("🙂 ", megabyte / 13));
        foreach (var (name, text) in new[] { ("words", words), ("cjk", cjk), ("emoji", emoji) })
        {
            // Far over the 512-token context: a 400 naming it, after tokenizing a megabyte.
            yield return Json(Chat, $"large:chat-1MB-{name}", ChatWith(model, text), false, ErrorCode("context_length_exceeded"));
            yield return Json(Completions, $"large:completion-1MB-{name}", new JsonObject { ["model"] = model, ["prompt"] = text, ["max_tokens"] = 1 }, false, ErrorCode("context_length_exceeded"));
            // /tokenize has no context limit: it counts the megabyte.
            yield return Json(Tokenize, $"large:tokenize-1MB-{name}", new JsonObject { ["prompt"] = text }, true, Counted(100));
        }
        var hugeStop = ChatWith(model, "hi");
        hugeStop["stop"] = new JsonArray(JsonValue.Create(words[..(megabyte / 2)]));
        yield return Json(Chat, "large:stop-500KB", hugeStop, false, ErrorParam("stop"));

        // 10,000 levels: arrays in the content, objects in an unknown field, arrays as tokens; the parser's depth limit is 64.
        var deepArrays = new string('[', 10_000) + new string(']', 10_000);
        var deepObjects = string.Concat(Enumerable.Repeat("{\"a\":", 10_000)) + "1" + new string('}', 10_000);
        yield return Raw(Chat, "large:nested-10000-content", $"{{\"model\":\"{model}\",\"messages\":[{{\"role\":\"user\",\"content\":{deepArrays}}}],\"max_tokens\":1}}");
        yield return Raw(Chat, "large:nested-10000-unknown-field", $"{{\"model\":\"{model}\",\"messages\":[{{\"role\":\"user\",\"content\":\"hi\"}}],\"max_tokens\":1,\"x\":{deepObjects}}}");
        yield return Raw(Completions, "large:nested-10000-prompt", $"{{\"model\":\"{model}\",\"prompt\":{deepArrays},\"max_tokens\":1}}");
        yield return Raw(Tokenize, "large:nested-10000-messages", $"{{\"messages\":{deepArrays}}}");
        yield return Raw(Detokenize, "large:nested-10000-tokens", $"{{\"tokens\":{deepArrays}}}");
        yield return Raw(Chat, "large:unclosed-10000", $"{{\"model\":\"{model}\",\"messages\":{new string('[', 10_000)}");

        // Bodies exactly at the limit (read, then refused for the context) and one byte over it (413), and far over it.
        // (Over the limit the test accepts only 413, or the connection closed on a body still being written.)
        yield return Sized(model, maxBodyBytes, ErrorCode("context_length_exceeded"));
        yield return Sized(model, maxBodyBytes + 1, null);
        yield return Sized(model, 3 * maxBodyBytes, null);
    }

    /// <summary>
    /// One pre-tokenizer piece of a million letters ("abab…", a megabyte body, within the default 4 MiB limit): BPE over
    /// one piece must stay near linear (a heap of merges, as Hugging Face's tokenizers do), or a single request pins a
    /// core for minutes before the context check can refuse it. Sent alone, after the rest.
    /// </summary>
    public static FuzzCase OneMegabyteWord(string model)
        => Json(Chat, "large:chat-1MB-one-word", ChatWith(model, string.Concat(Enumerable.Repeat("ab", 500_000))), false, ErrorCode("context_length_exceeded"));

    private static JsonObject ChatWith(string model, string content) => new()
    {
        ["model"] = model,
        ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = content }),
        ["max_tokens"] = 1,
    };

    /// <summary>A chat body padded with "x x x …" in its content to exactly <paramref name="bytes"/> bytes (words: the size is what is tested, not one long piece).</summary>
    private static FuzzCase Sized(string model, int bytes, Func<JsonElement, string?>? expect)
    {
        var empty = Encoding.UTF8.GetByteCount(ChatWith(model, "").ToJsonString(RawUtf8));
        var body = Encoding.UTF8.GetBytes(ChatWith(model, string.Concat(Enumerable.Repeat("x ", ((bytes - empty) / 2) + 1))[..(bytes - empty)]).ToJsonString(RawUtf8));
        return new FuzzCase(Chat, $"large:body-{bytes}-bytes", body, "application/json", false, false, expect);
    }

    private static FuzzCase Json(string endpoint, string kind, JsonObject body, bool valid, Func<JsonElement, string?>? expect, bool stream = false)
        => new(endpoint, kind, Encoding.UTF8.GetBytes(body.ToJsonString(RawUtf8)), "application/json", valid, stream, expect);

    private static FuzzCase Raw(string endpoint, string kind, string json)
        => new(endpoint, kind, Encoding.UTF8.GetBytes(json), "application/json", false, false, null);

    private static Func<JsonElement, string?> Generated(int tokens, string finish) => root =>
    {
        var got = root.GetProperty("usage").GetProperty("completion_tokens").GetInt32();
        var reason = root.GetProperty("choices")[0].GetProperty("finish_reason").GetString();
        return got == tokens && reason == finish ? null : $"expected {tokens} tokens and finish_reason {finish}, got {got} and {reason}";
    };

    private static Func<JsonElement, string?> Choices(int n) => root =>
    {
        var indices = root.GetProperty("choices").EnumerateArray().Select(c => c.GetProperty("index").GetInt32()).Order().ToList();
        return indices.SequenceEqual(Enumerable.Range(0, n)) ? null : $"expected choice indices 0..{n - 1}, got [{string.Join(',', indices)}]";
    };

    private static Func<JsonElement, string?> TopLogprobs(int k) => root =>
    {
        var content = root.GetProperty("choices")[0].GetProperty("logprobs").GetProperty("content");
        var counts = content.EnumerateArray().Select(t => t.GetProperty("top_logprobs").GetArrayLength()).ToList();
        return counts.Count > 0 && counts.All(c => c == k) ? null : $"expected {k} top_logprobs per token, got [{string.Join(',', counts)}]";
    };

    private static Func<JsonElement, string?> Counted(int atLeast) => root =>
    {
        var count = root.GetProperty("count").GetInt32();
        return count >= atLeast && count == root.GetProperty("tokens").GetArrayLength() ? null : $"count {count} (tokens {root.GetProperty("tokens").GetArrayLength()}), expected at least {atLeast}";
    };

    private static Func<JsonElement, string?> ErrorCode(string code) => root =>
        root.GetProperty("error").GetProperty("code").ValueKind == JsonValueKind.String && root.GetProperty("error").GetProperty("code").GetString() == code
            ? null : $"expected error code {code}";

    private static Func<JsonElement, string?> ErrorParam(string param) => root =>
        root.GetProperty("error").GetProperty("param").ValueKind == JsonValueKind.String && root.GetProperty("error").GetProperty("param").GetString()!.StartsWith(param, StringComparison.Ordinal)
            ? null : $"expected error param {param}";
}
