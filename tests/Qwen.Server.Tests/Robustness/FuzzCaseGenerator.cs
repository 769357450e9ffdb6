using System.Text;
using System.Text.Json.Nodes;

namespace Qwen.Server.Tests.Robustness;

/// <summary>
/// Seeded generator of hostile /v1/chat/completions requests. Each case carries its own verdict, decided here from the
/// OpenAI rules and the server's stated limits (the oracle is this table, not the server): a mutation is either valid or
/// not, and a request is valid only when every mutation applied to a valid base is. Mutations of fields that the server
/// reads together (max_tokens/max_completion_tokens, tools/tool_choice, logprobs/top_logprobs) are one group, set at once.
/// </summary>
internal sealed class FuzzCaseGenerator(int seed, string modelName)
{
    /// <summary>Vocabulary rows of the Qwen2.5 demo model (the real tokenizer's 151,936).</summary>
    private const int Vocab = 151936;

    private static readonly string[] Words = ["river", "cloud", "token", "lamp", "über", "数据", "🙂", "quartz", "zebra", "north"];

    private readonly Random _random = new(seed);

    private readonly (string Name, Func<JsonObject, bool>[] Mutations)[] _groups = BuildGroups(modelName);

    public FuzzCase Next()
    {
        var roll = _random.Next(100);
        return roll switch
        {
            < 8 => Truncated(),
            < 13 => Garbage(),
            < 17 => InvalidUtf8InString(),
            < 20 => RawControlCharacter(),
            < 23 => TopLevelNotObject(),
            < 28 => WrongContentType(),
            < 30 => LoneSurrogate(),
            _ => Mutated(),
        };
    }

    /// <summary>Bodies over the server's limit (1 MiB in the fixture): 413.</summary>
    public static FuzzCase Huge(int bytes)
    {
        var body = Base("m");
        ((JsonObject)body["messages"]![0]!)["content"] = new string('x', bytes);
        return new FuzzCase("huge-body", Encoding.UTF8.GetBytes(body.ToJsonString()), "application/json", false, false);
    }

    private static JsonObject Base(string model) => new()
    {
        ["model"] = model,
        ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = "Say something." }),
        ["max_tokens"] = 2,
        ["temperature"] = 0,
    };

    private FuzzCase Mutated()
    {
        var body = Base(modelName);
        var valid = true;
        var names = new List<string>();
        foreach (var g in _groups.OrderBy(_ => _random.Next()).Take(1 + _random.Next(3)))
        {
            var m = _random.Next(g.Mutations.Length);
            valid &= g.Mutations[m](body);
            names.Add($"{g.Name}#{m}");
        }
        var stream = body["stream"] is JsonValue v && v.TryGetValue<bool>(out var s) && s;
        return new FuzzCase(string.Join('+', names), Encoding.UTF8.GetBytes(body.ToJsonString()), "application/json", valid, stream);
    }

    private FuzzCase Truncated()
    {
        var json = Encoding.UTF8.GetBytes(Base(modelName).ToJsonString());
        // Any proper prefix of a compact JSON object leaves it unclosed: never valid.
        return new FuzzCase("truncated", json[..(1 + _random.Next(json.Length - 1))], "application/json", false, false);
    }

    private FuzzCase Garbage()
    {
        var bytes = new byte[1 + _random.Next(200)];
        _random.NextBytes(bytes);
        return new FuzzCase("garbage-bytes", bytes, "application/json", false, false);
    }

    private FuzzCase InvalidUtf8InString()
    {
        byte[][] bad = [[0xFF], [0xC3, 0x28], [0xE2, 0x82], [0xED, 0xA0, 0x80], [0xF8, 0x88, 0x80, 0x80, 0x80], [0xC0, 0xAF]];
        var json = Base(modelName).ToJsonString();
        var at = json.IndexOf("Say", StringComparison.Ordinal);
        var prefix = Encoding.UTF8.GetBytes(json[..at]);
        return new FuzzCase("invalid-utf8", [.. prefix, .. bad[_random.Next(bad.Length)], .. Encoding.UTF8.GetBytes(json[at..])], "application/json", false, false);
    }

    private FuzzCase RawControlCharacter()
    {
        // JSON forbids unescaped U+0000..U+001F inside strings.
        var json = Base(modelName).ToJsonString().Replace("Say something.", "Say" + (char)_random.Next(0, 0x20) + "something.", StringComparison.Ordinal);
        return new FuzzCase("raw-control-char", Encoding.UTF8.GetBytes(json), "application/json", false, false);
    }

    private FuzzCase LoneSurrogate()
    {
        // RFC 8259 lets an escaped lone surrogate through the grammar but it is no Unicode text: accepting (replacing it)
        // and refusing with a 400 are both right; a 5xx is not.
        string[] escapes = ["\\ud800", "\\udfff", "\\ud83d x", "\\ude00\\ud83d"];
        var json = Base(modelName).ToJsonString().Replace("Say something.", "Say " + escapes[_random.Next(escapes.Length)], StringComparison.Ordinal);
        return new FuzzCase("lone-surrogate", Encoding.UTF8.GetBytes(json), "application/json", null, false);
    }

    private FuzzCase TopLevelNotObject()
    {
        string[] bodies = ["[]", "[{\"role\":\"user\"}]", "1", "\"hello\"", "null", "true", "", " ", "{}"];
        var b = bodies[_random.Next(bodies.Length)];
        return new FuzzCase("top-level", Encoding.UTF8.GetBytes(b), "application/json", false, false);
    }

    private FuzzCase WrongContentType()
    {
        // The body decides: like OpenAI's and vLLM's servers, a valid JSON body is accepted whatever the content type says.
        string?[] types = ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", null, "application/json; charset=utf-16"];
        var inner = _random.Next(2) == 0 ? Mutated() : Truncated();
        return inner with { Kind = "content-type+" + inner.Kind, ContentType = types[_random.Next(types.Length)] };
    }

    private static Func<JsonObject, bool> Set(string field, JsonNode? value, bool valid) => body =>
    {
        body[field] = value?.DeepClone();
        return valid;
    };

    private static Func<JsonObject, bool> Raw(string field, string json, bool valid) => Set(field, JsonNode.Parse(json), valid);

    private static Func<JsonObject, bool> Messages(string json, bool valid) => Raw("messages", json, valid);

    private static JsonNode Nested(int depth)
    {
        JsonNode node = new JsonArray();
        for (var i = 1; i < depth; i++)
        {
            node = new JsonArray(node);
        }
        return node;
    }

    private static (string, Func<JsonObject, bool>[])[] BuildGroups(string model)
    {
        var longWords = string.Join(' ', Enumerable.Range(0, 3000).Select(i => Words[i % Words.Length] + i));
        var stops = (int n) => new JsonArray(Enumerable.Range(0, n).Select(i => (JsonNode)JsonValue.Create($"s{i}")!).ToArray());
        const string tool = "{\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"parameters\":{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"}}}}}";
        Func<JsonObject, bool> Tools(string tools, string? choice, bool valid) => body =>
        {
            body["tools"] = JsonNode.Parse(tools);
            if (choice is not null)
            {
                body["tool_choice"] = JsonNode.Parse(choice);
            }
            return valid;
        };
        Func<JsonObject, bool> Budget(string field, string value, bool valid) => body =>
        {
            body.Remove("max_tokens");
            body[field] = JsonNode.Parse(value);
            return valid;
        };
        Func<JsonObject, bool> Logprobs(string? logprobs, string? top, bool valid) => body =>
        {
            if (logprobs is not null)
            {
                body["logprobs"] = JsonNode.Parse(logprobs);
            }
            if (top is not null)
            {
                body["top_logprobs"] = JsonNode.Parse(top);
            }
            return valid;
        };
        return
        [
            ("model", [Raw("model", $"\"{model}\"", true), Raw("model", "\"gpt-nonexistent\"", false), Raw("model", "5", false), Raw("model", "[]", false)]),
            ("messages", [
                Messages("\"hi\"", false), Messages("[]", false), Messages("{}", false), Messages("[1]", false),
                Messages("[{\"role\":\"wizard\",\"content\":\"x\"}]", false), Messages("[{\"role\":\"\",\"content\":\"x\"}]", false),
                Messages("[{\"role\":5,\"content\":\"x\"}]", false), Messages("[{\"content\":\"x\"}]", false),
                Messages("[{\"role\":\"user\",\"content\":5}]", false), Messages("[{\"role\":\"user\",\"content\":{}}]", false),
                Messages("[{\"role\":\"user\",\"content\":[{\"type\":\"image_url\",\"image_url\":{\"url\":\"x\"}}]}]", false),
                Messages("[{\"role\":\"user\",\"content\":[{\"type\":\"text\"}]}]", false),
                Messages("[{\"role\":\"user\",\"tool_calls\":[]}]", false),
                Messages("[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"hi\"}]}]", true),
                Messages("[{\"role\":\"system\",\"content\":\"Be brief.\"},{\"role\":\"user\",\"content\":\"hi\"}]", true),
                Messages("[{\"role\":\"user\",\"content\":\"\\u0000\\u0001\\u001f\\t\\r\\n tab and nul\"}]", true),
                Messages("[{\"role\":\"user\",\"content\":\"\\ud83d\\ude00 \\u00e9 \\u202e rtl \\ufeff\"}]", true),
                Messages($"[{{\"role\":\"user\",\"content\":\"{longWords}\"}}]", false),
                Set("messages", new JsonArray(new JsonObject { ["role"] = "user", ["content"] = Nested(200) }), false),
            ]),
            ("max_tokens", [
                Budget("max_tokens", "1", true), Budget("max_tokens", "4", true), Budget("max_completion_tokens", "3", true),
                Budget("max_tokens", "0", false), Budget("max_tokens", "-1", false), Budget("max_tokens", "-1e9", false),
                Budget("max_tokens", "1e300", false), Budget("max_tokens", "2.5", false), Budget("max_tokens", "\"4\"", false),
                Budget("max_tokens", "true", false), Budget("max_tokens", $"{LimitedServerFixture.MaxModelLen}", false),
                Budget("max_tokens", "100000", false), Budget("max_tokens", "9223372036854775808", false),
                Budget("max_completion_tokens", "0", false), Budget("max_completion_tokens", "{}", false),
            ]),
            // The server's stated limit on n is 8 choices.
            ("n", [Raw("n", "1", true), Raw("n", "2", true), Raw("n", "8", true), Raw("n", "0", false), Raw("n", "9", false), Raw("n", "-1", false),
                Raw("n", "1.5", false), Raw("n", "\"2\"", false), Raw("n", "1e10", false)]),
            ("temperature", [Raw("temperature", "0", true), Raw("temperature", "0.7", true), Raw("temperature", "2", true), Raw("temperature", "-0.1", false),
                Raw("temperature", "2.01", false), Raw("temperature", "\"hot\"", false), Raw("temperature", "1e308", false), Raw("temperature", "[]", false)]),
            ("top_p", [Raw("top_p", "1", true), Raw("top_p", "0.5", true), Raw("top_p", "0", false), Raw("top_p", "1.5", false), Raw("top_p", "-1", false)]),
            ("penalties", [Raw("presence_penalty", "2", true), Raw("frequency_penalty", "-2", true), Raw("presence_penalty", "3", false),
                Raw("frequency_penalty", "-2.5", false), Raw("presence_penalty", "\"x\"", false)]),
            // The server's stated limit on stop is 16 strings of 1..256 characters.
            ("stop", [Raw("stop", "\"x\"", true), Set("stop", stops(4), true), Set("stop", stops(16), true), Set("stop", stops(17), false),
                Set("stop", stops(100), false), Raw("stop", "[\"\"]", false), Raw("stop", "[5]", false), Raw("stop", "5", false), Raw("stop", "{}", false),
                Set("stop", new JsonArray(JsonValue.Create(new string('s', 300))), false)]),
            ("logit_bias", [Raw("logit_bias", "{\"100\":5}", true), Raw("logit_bias", $"{{\"{Vocab - 1}\":-100}}", true), Raw("logit_bias", "{\"0\":100}", true),
                Raw("logit_bias", $"{{\"{Vocab}\":1}}", false), Raw("logit_bias", "{\"-1\":1}", false), Raw("logit_bias", "{\"99999999999\":1}", false),
                Raw("logit_bias", "{\"abc\":1}", false), Raw("logit_bias", "{\"1.5\":1}", false), Raw("logit_bias", "{\"100\":101}", false),
                Raw("logit_bias", "{\"100\":\"x\"}", false), Raw("logit_bias", "[]", false), Raw("logit_bias", "5", false)]),
            ("tools", [
                Tools($"[{tool}]", null, true), Tools($"[{tool}]", "\"auto\"", true), Tools($"[{tool}]", "\"none\"", true), Tools($"[{tool}]", "\"required\"", true),
                Tools($"[{tool}]", "{\"type\":\"function\",\"function\":{\"name\":\"get_weather\"}}", true),
                Tools($"[{tool}]", "{\"type\":\"function\",\"function\":{\"name\":\"other\"}}", false),
                Tools("[]", "\"required\"", false), Tools($"[{tool}]", "\"sometimes\"", false), Tools($"[{tool}]", "5", false),
                Tools("{}", null, false), Tools("\"get_weather\"", null, false), Tools("[5]", null, false), Tools("[\"f\"]", null, false),
                Tools("[{\"type\":\"function\",\"function\":{\"name\":\"f\",\"parameters\":\"string\"}}]", null, false),
                Tools("[{\"type\":\"function\",\"function\":{\"name\":\"f\",\"parameters\":[]}}]", null, false),
                Tools("[{\"type\":\"function\",\"function\":{\"name\":\"f\",\"parameters\":5}}]", null, false),
                Tools("[{\"type\":\"function\",\"function\":{\"parameters\":{}}}]", null, false),
                Tools("[{\"type\":\"retrieval\",\"function\":{\"name\":\"f\"}}]", null, false),
                Tools("[{\"type\":\"function\",\"function\":\"f\"}]", null, false),
            ]),
            ("stream", [Raw("stream", "true", true), Raw("stream", "false", true), Raw("stream", "\"yes\"", false), Raw("stream", "1", false)]),
            ("seed", [Raw("seed", "42", true), Raw("seed", "-1", true), Raw("seed", "1e30", false), Raw("seed", "\"x\"", false), Raw("seed", "1.5", false)]),
            ("response_format", [Raw("response_format", "{\"type\":\"json_object\"}", true), Raw("response_format", "{\"type\":\"text\"}", true),
                Raw("response_format", "{\"type\":\"xml\"}", false), Raw("response_format", "\"json\"", false)]),
            ("logprobs", [Logprobs("true", "2", true), Logprobs("true", null, true), Logprobs(null, "2", false), Logprobs("true", "21", false),
                Logprobs("\"yes\"", null, false), Logprobs("true", "-1", false)]),
            ("extra", [Set("x_unknown_field", Nested(10), true), Raw("x_unknown_field", "\"ignored\"", true), Set("x_unknown_field", Nested(100), false),
                Raw("user", "\"u-1\"", true), Raw("user", "5", false)]),
        ];
    }
}
