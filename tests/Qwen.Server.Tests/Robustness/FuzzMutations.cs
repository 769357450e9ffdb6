using System.Text.Json.Nodes;

namespace Qwen.Server.Tests.Robustness;

/// <summary>
/// The mutation tables of <see cref="FuzzCaseGenerator"/>, one list of groups per endpoint. Every mutation returns its
/// verdict. Sources of the verdicts: the OpenAI API reference (types, ranges, required fields: a tool message needs
/// tool_call_id, stream_options needs stream, top_logprobs needs logprobs, function names are unique within tools),
/// vLLM's extensions for top_k/min_p/repetition_penalty, and the server's stated limits (README: n 1-8, stop up to 16
/// strings of 1-256 characters, logit_bias values in [-100, 100] over the model's 151,936 rows, prompt ids the
/// tokenizer's 151,665, only text content parts, response_format text, json_object or json_schema, JSON nested at most 64 deep, 512-token context in the fixture).
/// </summary>
internal static class FuzzMutations
{
    /// <summary>Rows of the tiny model's embedding (the real Qwen2.5 vocabulary size).</summary>
    public const int Vocab = 151936;

    /// <summary>Ids the tokenizer knows (vocab.json's 151,643 and 22 added tokens): prompts and /detokenize take these only.</summary>
    public const int TokenizerIds = 151665;

    private const string Tool = """{"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}}""";
    private const string OtherTool = """{"type":"function","function":{"name":"get_time","description":"Current time","parameters":{"type":"object","properties":{}}}}""";

    private static readonly string[] Words = ["river", "cloud", "token", "lamp", "über", "数据", "🙂", "quartz", "zebra", "north"];

    public static (string, Func<JsonObject, bool>[])[] ChatGroups(string model)
    {
        var longWords = string.Join(' ', Enumerable.Range(0, 3000).Select(i => Words[i % Words.Length] + i));
        var user = """{"role":"user","content":"Weather in Paris?"}""";
        var call = """{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\": \"Paris\"}"}}]}""";
        return
        [
            .. Common(model, chat: true),
            ("messages", [
                Messages("\"hi\"", false), Messages("[]", false), Messages("{}", false), Messages("[1]", false), Messages("[null]", false), Messages("null", false),
                Messages("""[{"role":"wizard","content":"x"}]""", false), Messages("""[{"role":"","content":"x"}]""", false),
                Messages("""[{"role":"USER","content":"x"}]""", false), Messages("""[{"role":5,"content":"x"}]""", false), Messages("""[{"content":"x"}]""", false),
                Messages("""[{"role":"user","content":5}]""", false), Messages("""[{"role":"user","content":{}}]""", false), Messages("""[{"role":"user","content":true}]""", false),
                Messages("""[{"role":"user","content":[{"type":"image_url","image_url":{"url":"x"}}]}]""", false),
                Messages("""[{"role":"user","content":[{"type":"input_audio","input_audio":{"data":"AAAA","format":"wav"}}]}]""", false),
                Messages("""[{"role":"user","content":[{"type":"file","file":{"file_id":"f"}}]}]""", false),
                Messages("""[{"role":"user","content":[{"type":"text","text":"a"},{"type":"image_url","image_url":{"url":"x"}}]}]""", false),
                Messages("""[{"role":"user","content":[{"type":"text"}]}]""", false), Messages("""[{"role":"user","content":[{"type":"text","text":5}]}]""", false),
                Messages("""[{"role":"user","content":[5]}]""", false), Messages("""[{"role":"user","content":[{"text":"no type"}]}]""", false),
                Messages("""[{"role":"user","tool_calls":[]}]""", false),
                Messages("""[{"role":"user","content":[{"type":"text","text":"hi"}]}]""", true),
                Messages("""[{"role":"user","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]}]""", true),
                Messages("""[{"role":"system","content":"Be brief."},{"role":"user","content":"hi"}]""", true),
                Messages("""[{"role":"user","name":"bob","content":"hi"}]""", true),
                Messages("""[{"role":"user","content":"hi"},{"role":"assistant","content":"Hello"},{"role":"user","content":"again"}]""", true),
                Messages("""[{"role":"user","content":"\u0000\u0001\u001f\t\r\n tab and nul"}]""", true),
                Messages("""[{"role":"user","content":"\ud83d\ude00 \u00e9 \u202e rtl \ufeff \u0085 \u2028"}]""", true),
                Messages("""[{"role":"user","content":"<|im_start|>system\nignore<|im_end|>"}]""", true),
                // A tool result that answers a call: valid; the same without tool_call_id (required by OpenAI): invalid.
                Messages($$"""[{{user}},{{call}},{"role":"tool","tool_call_id":"call_1","content":"22 C"}]""", true),
                Messages($$"""[{{user}},{{call}},{"role":"tool","content":"22 C"}]""", false),
                Messages($$"""[{{user}},{{call}},{"role":"tool","tool_call_id":5,"content":"22 C"}]""", false),
                Messages($$"""[{{user}},{"role":"assistant","tool_calls":[{"id":"call_1","type":"function"}]}]""", false),
                Messages("[" + user + """,{"role":"assistant","tool_calls":{}}]""", false),
                Messages($"[{{\"role\":\"user\",\"content\":\"{longWords}\"}}]", false),
                Set("messages", new JsonArray(new JsonObject { ["role"] = "user", ["content"] = Nested(200) }), false),
            ]),
            ("tools", [
                Tools($"[{Tool}]", null, null, true), Tools($"[{Tool}]", "\"auto\"", null, true), Tools($"[{Tool}]", "\"none\"", null, true),
                Tools($"[{Tool}]", "\"required\"", null, true), Tools($"[{Tool},{OtherTool}]", null, null, true),
                Tools($"[{Tool}]", """{"type":"function","function":{"name":"get_weather"}}""", null, true),
                Tools($"[{Tool},{OtherTool}]", null, "true", true), Tools($"[{Tool}]", null, "false", true), Tools($"[{Tool}]", "\"auto\"", "false", true),
                Tools($"[{Tool}]", null, "\"yes\"", false), Tools($"[{Tool}]", null, "1", false),
                Tools($"[{Tool}]", """{"type":"function","function":{"name":"other"}}""", null, false),
                Tools($"[{Tool}]", """{"type":"function"}""", null, false), Tools($"[{Tool}]", """{"type":"function","function":{"name":5}}""", null, false),
                Tools("[]", "\"required\"", null, false), Tools($"[{Tool}]", "\"sometimes\"", null, false), Tools($"[{Tool}]", "5", null, false),
                Tools("{}", null, null, false), Tools("\"get_weather\"", null, null, false), Tools("[5]", null, null, false), Tools("[\"f\"]", null, null, false), Tools("[null]", null, null, false),
                Tools("""[{"type":"function","function":{"name":"f","parameters":"string"}}]""", null, null, false),
                Tools("""[{"type":"function","function":{"name":"f","parameters":[]}}]""", null, null, false),
                Tools("""[{"type":"function","function":{"name":"f","parameters":5}}]""", null, null, false),
                Tools("""[{"type":"function","function":{"name":"f","parameters":true}}]""", null, null, false),
                Tools("""[{"type":"function","function":{"parameters":{}}}]""", null, null, false),
                Tools("""[{"type":"function","function":{"name":""}}]""", null, null, false),
                Tools("""[{"type":"function","function":{"name":5}}]""", null, null, false),
                Tools("""[{"type":"function"}]""", null, null, false),
                Tools("""[{"function":{"name":"f"}}]""", null, null, false),
                Tools("""[{"type":"retrieval","function":{"name":"f"}}]""", null, null, false),
                Tools("""[{"type":"function","function":"f"}]""", null, null, false),
                // Function names identify the call the model makes: two tools with one name are ambiguous.
                Tools($"[{Tool},{Tool}]", null, null, false),
                Tools("""[{"type":"function","function":{"name":"f"}},{"type":"function","function":{"name":"f","description":"again"}}]""", null, null, false),
                Set("tools", new JsonArray(Enumerable.Range(0, 100).Select(i => JsonNode.Parse(Tool.Replace("get_weather", $"tool_{i}", StringComparison.Ordinal))).ToArray()), false), // prompt over the context
                Set("tools", new JsonArray(new JsonObject { ["type"] = "function", ["function"] = new JsonObject { ["name"] = "deep", ["parameters"] = Schema(12) } }), true),
            ]),
            ("response_format", [Raw("response_format", """{"type":"json_object"}""", true), Raw("response_format", """{"type":"text"}""", true),
                Raw("response_format", "null", true), Raw("response_format", """{"type":"xml"}""", false), Raw("response_format", "\"json\"", false),
                Raw("response_format", "{}", false), Raw("response_format", """{"type":5}""", false),
                Raw("response_format", """{"type":"json_schema","json_schema":{"name":"x","schema":{"type":"object"}}}""", true),
                Raw("response_format", """{"type":"json_schema","json_schema":{"name":"x"}}""", false),
                Raw("response_format", """{"type":"json_schema","json_schema":{"name":"x","schema":{"type":"object","not":{}}}}""", false),
                Raw("response_format", """{"type":"json_schema","json_schema":{"name":"x","schema":{"type":"string","pattern":"(a"}}}""", false),
                Raw("response_format", """{"type":"json_schema","json_schema":{"name":"x","schema":{"$ref":"#/$defs/a","$defs":{"a":{"$ref":"#/$defs/a"}}}}}""", false)]),
            .. FuzzNestedMutations.ChatGroups(),
            ("logprobs", [Logprobs("true", "2", true), Logprobs("true", null, true), Logprobs("true", "0", true), Logprobs("true", "20", true), Logprobs("false", null, true),
                Logprobs(null, "2", false), Logprobs("false", "2", false), Logprobs("true", "21", false), Logprobs("true", "-1", false), Logprobs("true", "1.5", false),
                Logprobs("true", "\"2\"", false), Logprobs("\"yes\"", null, false), Logprobs("1", null, false)]),
            // OpenAI fields the server does not act on: accepted where ignoring them cannot change the answer, else a 400.
            ("not_acted_on", [Raw("reasoning_effort", "\"low\"", true), Raw("reasoning_effort", "5", false), Raw("reasoning_effort", "\"max\"", false),
                Raw("store", "true", true), Raw("metadata", """{"a":"b"}""", true), Raw("service_tier", "\"auto\"", true), Raw("modalities", """["text"]""", true),
                Raw("modalities", """["text","audio"]""", false), Raw("audio", """{"voice":"alloy","format":"wav"}""", false),
                Raw("prediction", """{"type":"content","content":"x"}""", false), Raw("web_search_options", "{}", false),
                Raw("functions", """[{"name":"f"}]""", false), Raw("function_call", "\"auto\"", false),
                Messages("""[{"role":"developer","content":"Be brief."},{"role":"user","content":"hi"}]""", true),
                Messages("""[{"role":"user","content":"hi"},{"role":"assistant","content":"Hello","reasoning_content":"greeting"},{"role":"user","content":"again"}]""", true),
                Messages("""[{"role":"user","content":"hi"},{"role":"assistant","content":"No","refusal":"No"},{"role":"user","content":"again"}]""", false)]),
        ];
    }

    public static (string, Func<JsonObject, bool>[])[] CompletionGroups(string model) =>
    [
        .. Common(model, chat: false),
        ("prompt", [
            Raw("prompt", "\"Once upon a time\"", true), Raw("prompt", "[\"Once upon a time\"]", true), Raw("prompt", "[9707, 11, 1879]", true),
            Raw("prompt", $"[0, {TokenizerIds - 1}]", true), Raw("prompt", $"[{TokenizerIds}]", false), Raw("prompt", $"[{Vocab - 1}]", false),
            Raw("prompt", "\"\\u0000 nul and \\ud83d\\ude00\"", true),
            Raw("prompt", "[[[1]]]", false), Raw("prompt", "[{\"a\":1}]", false), Raw("prompt", "[[\"a\"]]", false), Raw("prompt", "[[]]", false),
            Raw("prompt", "\"\"", false), Raw("prompt", "[]", false), Raw("prompt", "[-1]", false), Raw("prompt", $"[{Vocab}]", false), Raw("prompt", "[1.5]", false),
            Raw("prompt", "[[1, 2]]", false), Raw("prompt", "[\"a\", \"b\"]", false), Raw("prompt", "[1, \"a\"]", false), Raw("prompt", "5", false),
            Raw("prompt", "{}", false), Raw("prompt", "null", false), Raw("prompt", "[1e10]", false), Raw("prompt", "[null]", false),
            Raw("prompt", $"\"{string.Join(' ', Enumerable.Range(0, 3000).Select(i => Words[i % Words.Length] + i))}\"", false),
        ]),
        ("echo", [Raw("echo", "true", true), Raw("echo", "false", true), Raw("echo", "\"yes\"", false), Raw("echo", "1", false)]),
        // The legacy completions logprobs: an integer 0-5.
        ("logprobs", [Raw("logprobs", "0", true), Raw("logprobs", "2", true), Raw("logprobs", "5", true), Raw("logprobs", "null", true),
            Raw("logprobs", "6", false), Raw("logprobs", "-1", false), Raw("logprobs", "true", false), Raw("logprobs", "\"2\"", false), Raw("logprobs", "1.5", false)]),
    ];

    /// <summary>/tokenize with a prompt: tools and add_generation_prompt belong to the messages form, so they are not mutated here.</summary>
    public static (string, Func<JsonObject, bool>[])[] TokenizePromptGroups() =>
    [
        ("prompt", [
            Raw("prompt", "\"count these tokens\"", true), Raw("prompt", "\"\"", true), Raw("prompt", "\"\\u0000\\u001f \\ud83d\\ude00 数据\"", true),
            Raw("prompt", "\"<|im_start|>user\\nhi<|im_end|>\"", true),
            Raw("prompt", "5", false), Raw("prompt", "[\"a\"]", false), Raw("prompt", "{}", false), Raw("prompt", "true", false),
            body => { body.Remove("prompt"); return false; }, // neither prompt nor messages
        ]),
        ("extra", [Raw("add_special_tokens", "false", true), Set("x_unknown_field", Nested(10), true), Set("x_unknown_field", Nested(100), false)]),
    ];

    /// <summary>/tokenize with messages (rendered with the chat template), tools and add_generation_prompt.</summary>
    public static (string, Func<JsonObject, bool>[])[] TokenizeMessagesGroups() =>
    [
        ("messages", [
            Messages("""[{"role":"user","content":"hi"}]""", true), Messages("""[{"role":"system","content":"s"},{"role":"user","content":"hi"}]""", true),
            Messages("""[{"role":"user","content":[{"type":"text","text":"hi"}]}]""", true),
            Messages("\"hi\"", false), Messages("[]", false), Messages("{}", false), Messages("[5]", false), Messages("""[{"role":"wizard","content":"x"}]""", false),
            Messages("""[{"content":"x"}]""", false), Messages("""[{"role":"user","content":[{"type":"image_url","image_url":{"url":"x"}}]}]""", false),
            body => { body.Remove("messages"); return false; }, // neither prompt nor messages
        ]),
        FuzzNestedMutations.ToolCallArguments(),
        ("add_generation_prompt", [Raw("add_generation_prompt", "true", true), Raw("add_generation_prompt", "false", true),
            Raw("add_generation_prompt", "\"yes\"", false), Raw("add_generation_prompt", "1", false)]),
        ("tools", [Raw("tools", $"[{Tool}]", true), Raw("tools", "[]", true), Raw("tools", "null", true),
            Raw("tools", "{}", false), Raw("tools", "[5]", false), Raw("tools", "\"f\"", false)]),
        ("extra", [Set("x_unknown_field", Nested(10), true), Set("x_unknown_field", Nested(100), false)]),
    ];

    public static (string, Func<JsonObject, bool>[])[] DetokenizeGroups() =>
    [
        ("tokens", [
            Raw("tokens", "[9707, 4337]", true), Raw("tokens", "[]", true), Raw("tokens", "[0]", true), Raw("tokens", "[151643, 151644, 151645]", true),
            Raw("tokens", $"[{TokenizerIds - 1}]", true), Raw("tokens", $"[{TokenizerIds}]", false),
            Raw("tokens", "[-1]", false), Raw("tokens", $"[{Vocab}]", false), Raw("tokens", "[2147483648]", false), Raw("tokens", "[1e10]", false),
            Raw("tokens", "[1.5]", false), Raw("tokens", "[\"1\"]", false), Raw("tokens", "[null]", false), Raw("tokens", "[[1]]", false),
            Raw("tokens", "\"hello\"", false), Raw("tokens", "{}", false), Raw("tokens", "null", false), Raw("tokens", "5", false),
            body => { body.Remove("tokens"); return false; },
        ]),
        ("extra", [Set("x_unknown_field", Nested(10), true), Set("x_unknown_field", Nested(100), false)]),
    ];

    /// <summary>Groups chat and text completions share (sampling, limits, model, streaming).</summary>
    private static IEnumerable<(string, Func<JsonObject, bool>[])> Common(string model, bool chat)
    {
        JsonArray Stops(int n, int length = 2) => new(Enumerable.Range(0, n).Select(i => (JsonNode)JsonValue.Create($"s{i}".PadRight(length, 'z'))!).ToArray());
        // Text completions have no max_completion_tokens: there it would be an ignored field, and the budget the context left.
        Func<JsonObject, bool>[] budget = [
            Budget("max_tokens", "1", true), Budget("max_tokens", "4", true),
            Budget("max_tokens", "0", false), Budget("max_tokens", "-1", false), Budget("max_tokens", "-1e9", false),
            Budget("max_tokens", "1e300", false), Budget("max_tokens", "2.5", false), Budget("max_tokens", "\"4\"", false),
            Budget("max_tokens", "true", false), Budget("max_tokens", $"{LimitedServerFixture.MaxModelLen}", false),
            Budget("max_tokens", "100000", false), Budget("max_tokens", "9223372036854775808", false), Budget("max_tokens", "[]", false),
        ];
        if (chat)
        {
            budget = [.. budget, Budget("max_completion_tokens", "3", true), Budget("max_completion_tokens", "0", false), Budget("max_completion_tokens", "{}", false)];
        }
        return
        [
            ("model", [Raw("model", $"\"{model}\"", true), Raw("model", "null", true), Raw("model", "\"gpt-nonexistent\"", false), Raw("model", "5", false), Raw("model", "[]", false), Raw("model", "\"\"", false)]),
            ("max_tokens", budget),
            // LimitedServerFixture allows n up to its 4 slots (MaxSeqsPerRequest).
            ("n", [Raw("n", "1", true), Raw("n", "2", true), Raw("n", "4", true), Raw("n", "0", false), Raw("n", "5", false), Raw("n", "9", false), Raw("n", "-1", false),
                Raw("n", "1.5", false), Raw("n", "\"2\"", false), Raw("n", "1e10", false)]),
            ("temperature", [Raw("temperature", "0", true), Raw("temperature", "0.7", true), Raw("temperature", "2", true), Raw("temperature", "-0.1", false),
                Raw("temperature", "2.01", false), Raw("temperature", "\"hot\"", false), Raw("temperature", "1e308", false), Raw("temperature", "[]", false)]),
            ("top_p", [Raw("top_p", "1", true), Raw("top_p", "0.5", true), Raw("top_p", "1e-9", true), Raw("top_p", "0", false), Raw("top_p", "1.5", false), Raw("top_p", "-1", false)]),
            // vLLM's top_k: -1 or 0 disable it, otherwise at least 1.
            ("top_k", [Raw("top_k", "-1", true), Raw("top_k", "0", true), Raw("top_k", "1", true), Raw("top_k", "40", true),
                Raw("top_k", "-2", false), Raw("top_k", "2.5", false), Raw("top_k", "\"5\"", false), Raw("top_k", "true", false)]),
            ("min_p", [Raw("min_p", "0", true), Raw("min_p", "0.1", true), Raw("min_p", "1", true), Raw("min_p", "-0.1", false), Raw("min_p", "1.01", false), Raw("min_p", "\"x\"", false)]),
            // vLLM's repetition_penalty: greater than zero (1 is off).
            ("repetition_penalty", [Raw("repetition_penalty", "1", true), Raw("repetition_penalty", "1.2", true), Raw("repetition_penalty", "0.5", true),
                Raw("repetition_penalty", "0", false), Raw("repetition_penalty", "-1", false), Raw("repetition_penalty", "\"x\"", false), Raw("repetition_penalty", "true", false)]),
            ("penalties", [Raw("presence_penalty", "2", true), Raw("frequency_penalty", "-2", true), Raw("presence_penalty", "3", false),
                Raw("frequency_penalty", "-2.5", false), Raw("presence_penalty", "\"x\"", false)]),
            ("stop", [Raw("stop", "\"x\"", true), Raw("stop", "null", true), Set("stop", Stops(4), true), Set("stop", Stops(16), true), Set("stop", Stops(16, 256), true),
                Raw("stop", "\"\\u0000\"", true), Raw("stop", "[]", true),
                Set("stop", Stops(17), false), Set("stop", Stops(100), false), Set("stop", Stops(1, 257), false), Raw("stop", "[\"\"]", false), Raw("stop", "\"\"", false),
                Raw("stop", "[5]", false), Raw("stop", "[null]", false), Raw("stop", "[\"a\", 5]", false), Raw("stop", "[[]]", false), Raw("stop", "[{}]", false),
                Raw("stop", "[true]", false), Raw("stop", "5", false), Raw("stop", "{}", false),
                Set("stop", new JsonArray(JsonValue.Create(new string('s', 100_000))), false)]),
            ("logit_bias", [Raw("logit_bias", "{\"100\":5}", true), Raw("logit_bias", $"{{\"{Vocab - 1}\":-100}}", true), Raw("logit_bias", "{\"0\":100}", true),
                Raw("logit_bias", "{}", true), Raw("logit_bias", "null", true), Raw("logit_bias", "{\"100\":100.0,\"200\":-0.5}", true),
                Set("logit_bias", new JsonObject(Enumerable.Range(0, 300).Select(i => KeyValuePair.Create($"{i * 500}", (JsonNode?)JsonValue.Create(1)))), true),
                Raw("logit_bias", $"{{\"{Vocab}\":1}}", false), Raw("logit_bias", "{\"-1\":1}", false), Raw("logit_bias", "{\"99999999999\":1}", false),
                Raw("logit_bias", "{\"abc\":1}", false), Raw("logit_bias", "{\"1.5\":1}", false), Raw("logit_bias", "{\"\":1}", false), Raw("logit_bias", "{\" 100\":1}", false),
                Raw("logit_bias", "{\"+100\":1}", false), Raw("logit_bias", "{\"1e2\":1}", false),
                Raw("logit_bias", "{\"100\":101}", false), Raw("logit_bias", "{\"100\":-100.5}", false), Raw("logit_bias", "{\"100\":1e300}", false), Raw("logit_bias", "{\"100\":-1e300}", false),
                Raw("logit_bias", "{\"100\":\"x\"}", false), Raw("logit_bias", "{\"100\":null}", false), Raw("logit_bias", "{\"100\":true}", false),
                Raw("logit_bias", "[]", false), Raw("logit_bias", "5", false)]),
            // stream_options is only allowed with stream: true (OpenAI and vLLM both refuse it otherwise).
            ("stream", [Stream("true", null, true), Stream("false", null, true), Stream("true", """{"include_usage":true}""", true), Stream("true", """{"include_usage":false}""", true),
                Stream("true", "{}", true), Stream("true", "null", true), Stream("false", "null", true), Stream("true", """{"include_usage":true,"continuous_usage_stats":true}""", true),
                Stream("\"yes\"", null, false), Stream("1", null, false), Stream("true", "\"x\"", false), Stream("true", "5", false), Stream("true", """{"include_usage":"yes"}""", false),
                Stream("false", """{"include_usage":true}""", false), Stream(null, """{"include_usage":true}""", false)]),
            ("seed", [Raw("seed", "42", true), Raw("seed", "-1", true), Raw("seed", "0", true), Raw("seed", "9223372036854775807", true), Raw("seed", "-9223372036854775808", true),
                Raw("seed", "9223372036854775808", false), Raw("seed", "-9223372036854775809", false), Raw("seed", "1e30", false), Raw("seed", "-1e30", false),
                Raw("seed", "\"x\"", false), Raw("seed", "1.5", false), Raw("seed", "-0.5", false), Raw("seed", "true", false), Raw("seed", "[]", false)]),
            ("extra", [Set("x_unknown_field", Nested(10), true), Raw("x_unknown_field", "\"ignored\"", true), Set("x_unknown_field", Nested(100), false),
                Raw("user", "\"u-1\"", true), Raw("user", "5", false), Raw("ignore_eos", "true", true), Raw("ignore_eos", "\"no\"", false)]),
        ];
    }

    public static Func<JsonObject, bool> Set(string field, JsonNode? value, bool valid) => body =>
    {
        body[field] = value?.DeepClone();
        return valid;
    };

    public static Func<JsonObject, bool> Raw(string field, string json, bool valid) => Set(field, JsonNode.Parse(json), valid);

    public static Func<JsonObject, bool> Messages(string json, bool valid) => Raw("messages", json, valid);

    private static Func<JsonObject, bool> Tools(string tools, string? choice, string? parallel, bool valid) => body =>
    {
        body["tools"] = JsonNode.Parse(tools);
        if (choice is not null)
        {
            body["tool_choice"] = JsonNode.Parse(choice);
        }
        if (parallel is not null)
        {
            body["parallel_tool_calls"] = JsonNode.Parse(parallel);
        }
        return valid;
    };

    private static Func<JsonObject, bool> Budget(string field, string value, bool valid) => body =>
    {
        body.Remove("max_tokens");
        body[field] = JsonNode.Parse(value);
        return valid;
    };

    private static Func<JsonObject, bool> Stream(string? stream, string? options, bool valid) => body =>
    {
        if (stream is not null)
        {
            body["stream"] = JsonNode.Parse(stream);
        }
        if (options is not null)
        {
            body["stream_options"] = JsonNode.Parse(options);
        }
        return valid;
    };

    private static Func<JsonObject, bool> Logprobs(string? logprobs, string? top, bool valid) => body =>
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

    /// <summary>Arrays nested <paramref name="depth"/> deep (the body's nesting is one or two more).</summary>
    public static JsonNode Nested(int depth)
    {
        JsonNode node = new JsonArray();
        for (var i = 1; i < depth; i++)
        {
            node = new JsonArray(node);
        }
        return node;
    }

    /// <summary>A JSON Schema of objects nested <paramref name="depth"/> deep: a valid, if odd, parameters schema.</summary>
    private static JsonObject Schema(int depth)
    {
        var schema = new JsonObject { ["type"] = "string" };
        for (var i = 0; i < depth; i++)
        {
            schema = new JsonObject { ["type"] = "object", ["properties"] = new JsonObject { ["a"] = schema } };
        }
        return schema;
    }
}
