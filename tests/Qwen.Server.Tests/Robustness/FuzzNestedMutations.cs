using System.Text.Json.Nodes;

namespace Qwen.Server.Tests.Robustness;

/// <summary>
/// Mutations of what sits inside other JSON (issue 14): tool-call arguments, which are JSON text inside a JSON string
/// (escapes, surrogates, deep nesting, huge numbers, NaN-like tokens, duplicate keys), and content nested where it does
/// not belong (content parts in arrays, objects as text, unknown keys holding deep values), for chat, /tokenize and
/// /v1/responses. Verdicts: arguments that parse as JSON are rendered as the value Python's json.loads makes of them,
/// other text as a string (valid either way), except JSON holding a string that is not Unicode text (a lone surrogate
/// escape), which no prompt can carry: a 400, as a lone surrogate anywhere in the body is. Unknown keys are ignored;
/// a known field of the wrong type is a 400; the body may nest 64 deep.
/// </summary>
internal static class FuzzNestedMutations
{
    /// <summary>Arguments texts (as the client's string holds them) and whether a request carrying them is valid.</summary>
    private static readonly (string Text, bool Valid)[] ArgumentTexts =
    [
        ("""{"city": "Paris"}""", true),
        ("""{"a": "\ud800"}""", false),
        ("""{"a": "\udfff x"}""", false),
        ("""["\ude00\ud83d"]""", false),
        ("""{"\ud800": 1}""", false),
        ("""{"a": "\ud83d\ude00 \u00e9 \u0000 \n \"q\" \\"}""", true),
        ("""{"a": 1e999, "b": -1e-999, "c": 123456789012345678901234567890, "d": -0, "e": 1E+2}""", true),
        ("""{"a": NaN}""", true),
        ("""[Infinity, -Infinity, nan]""", true),
        ("""{"a": 1, "a": 2, "b": {"a": 3, "a": [4]}}""", true),
        (new string('[', 70) + new string(']', 70), true), // deeper than the parser's 64: written as a string
        (new string('{', 3) + "\"a\":", true),
        ("", true),
        ("not json at all", true),
        ("""{"a": "\u00"}""", true), // a truncated escape: not JSON
        ("""{"a": "x"} trailing""", true),
        ("null", true),
        ("\"just a string\"", true),
    ];

    /// <summary>Chat's groups: the arguments, and nested content in messages.</summary>
    public static IEnumerable<(string, Func<JsonObject, bool>[])> ChatGroups() =>
    [
        ToolCallArguments(),
        ("nested_content", [
            FuzzMutations.Messages("""[{"role":"user","content":[{"type":"text","text":"a","extra":{"deep":[1,{"x":null}]}}]}]""", true),
            FuzzMutations.Messages("""[{"role":"user","content":"hi","x_extra":{"a":[{"b":{"c":[]}}]}}]""", true),
            FuzzMutations.Messages("""[{"role":"user","content":[[{"type":"text","text":"a"}]]}]""", false),
            FuzzMutations.Messages("""[{"role":"user","content":[{"type":"text","text":{"nested":"x"}}]}]""", false),
            FuzzMutations.Messages("""[{"role":"user","content":[{"type":{"t":"text"},"text":"a"}]}]""", false),
            FuzzMutations.Messages("""[{"role":"user","content":[{"type":"text","text":"a"},[],{"type":"text","text":"b"}]}]""", false),
            FuzzMutations.Messages("""[{"role":"user","content":"hi","name":{"first":"bob"}}]""", false),
            FuzzMutations.Messages("""[{"role":{"name":"user"},"content":"hi"}]""", false),
            FuzzMutations.Messages("""[{"role":"user","content":"hi"},{"role":"assistant","tool_calls":[{"id":{},"type":"function","function":{"name":"f","arguments":"{}"}}]}]""", false),
            FuzzMutations.Messages("""[{"role":"user","content":"hi"},{"role":"assistant","tool_calls":[{"id":"c","type":"function","function":{"name":["f"],"arguments":"{}"}}]}]""", false),
            FuzzMutations.Messages("""[{"role":"user","content":"hi"},{"role":"assistant","tool_calls":[[]]}]""", false),
            FuzzMutations.Set("messages", new JsonArray(new JsonObject
            {
                ["role"] = "user",
                ["content"] = new JsonArray(new JsonObject { ["type"] = "text", ["text"] = "a", ["extra"] = FuzzMutations.Nested(70) }),
            }), false),
        ]),
    ];

    /// <summary>/v1/responses' groups: input items (the arguments among them), tools, the output budget and unknown fields.</summary>
    public static (string, Func<JsonObject, bool>[])[] ResponsesGroups() =>
    [
        ("input", [
            Input("\"hi\"", true), Input("\"\"", true), Input("[]", true), Input("""[{"role":"user","content":"hi"}]""", true),
            Input("""[{"role":"developer","content":"Be brief."},{"role":"user","content":"hi"}]""", true),
            Input("""[{"role":"user","content":[{"type":"input_text","text":"a","x":{"y":[1]}}]}]""", true),
            Input("""[{"role":"user","content":"hi","extra":{"deep":{"er":[{}]}}}]""", true),
            Input("""[{"role":"user","content":[{"type":"input_text","text":{"t":"a"}}]}]""", false),
            Input("""[{"role":"user","content":[{"type":"input_image","image_url":"x"}]}]""", false),
            Input("""[{"role":"user","content":[[]]}]""", false),
            Input("""[{"role":"user","content":{"text":"hi"}}]""", false),
            Input("""[{"role":"wizard","content":"hi"}]""", false),
            Input("""[{"type":"item_reference","id":"msg_1"}]""", false),
            Input("""{"role":"user","content":"hi"}""", false), Input("5", false), Input("[5]", false),
            Input("""[{"role":"user","content":"hi"},{"type":"function_call","call_id":"c","name":"f","arguments":"{}"},{"type":"function_call_output","call_id":"c","output":[{"type":"output_text","text":"ok"}]}]""", true),
            Input("""[{"role":"user","content":"hi"},{"type":"function_call","call_id":"c","name":"f","arguments":"{}"},{"type":"function_call_output","call_id":"c","output":{"a":1}}]""", false),
            Input("""[{"role":"user","content":"hi"},{"type":"function_call","call_id":"c","name":"f"}]""", false),
            .. ArgumentTexts.Select(a => Calls(a.Text, responses: true, a.Valid)),
            Calls("""{"city": "Paris"}""", responses: true, valid: false, asObject: true), // Responses sends arguments as a string only
        ]),
        ("max_output_tokens", [FuzzMutations.Raw("max_output_tokens", "1", true), FuzzMutations.Raw("max_output_tokens", "3", true),
            FuzzMutations.Raw("max_output_tokens", "0", false), FuzzMutations.Raw("max_output_tokens", "-1", false), FuzzMutations.Raw("max_output_tokens", "\"2\"", false),
            FuzzMutations.Raw("max_output_tokens", "1.5", false)]),
        ("tools", [
            FuzzMutations.Raw("tools", """[{"type":"function","name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}]""", true),
            FuzzMutations.Raw("tools", """[{"type":"function","name":"f","x":{"deep":[[{}]]}}]""", true),
            FuzzMutations.Raw("tools", """[{"type":"function","name":"f"},{"type":"function","name":"f"}]""", false),
            FuzzMutations.Raw("tools", """[{"type":"function","name":{"n":"f"}}]""", false),
            FuzzMutations.Raw("tools", """[{"type":"function"}]""", false), FuzzMutations.Raw("tools", "[5]", false), FuzzMutations.Raw("tools", "{}", false),
        ]),
        ("extra", [FuzzMutations.Set("x_unknown_field", FuzzMutations.Nested(10), true), FuzzMutations.Set("x_unknown_field", FuzzMutations.Nested(100), false),
            FuzzMutations.Raw("previous_response_id", "\"resp_1\"", false), FuzzMutations.Raw("temperature", "0.5", true), FuzzMutations.Raw("temperature", "-1", false)]),
    ];

    /// <summary>An assistant turn calling get_weather with each arguments text, answered by a tool result (chat and /tokenize).</summary>
    public static (string, Func<JsonObject, bool>[]) ToolCallArguments() =>
        ("tool_call_arguments", [
            .. ArgumentTexts.Select(a => Calls(a.Text, responses: false, a.Valid)),
            Calls("""{"city": "Paris"}""", responses: false, valid: true, asObject: true), // an object is accepted too, as its raw text
            ChatCall(JsonValue.Create(5), false), ChatCall(new JsonArray(), false), ChatCall(JsonValue.Create(true), false), ChatCall(null, false),
        ]);

    private static Func<JsonObject, bool> Input(string json, bool valid) => FuzzMutations.Raw("input", json, valid);

    /// <summary>The call with arguments <paramref name="text"/> (as a string, or parsed into an object with <paramref name="asObject"/>).</summary>
    private static Func<JsonObject, bool> Calls(string text, bool responses, bool valid, bool asObject = false)
    {
        JsonNode arguments = asObject ? JsonNode.Parse(text)! : JsonValue.Create(text);
        if (!responses)
        {
            return ChatCall(arguments, valid);
        }
        return body =>
        {
            body["input"] = new JsonArray(
                new JsonObject { ["role"] = "user", ["content"] = "Weather?" },
                new JsonObject { ["type"] = "function_call", ["call_id"] = "call_1", ["name"] = "get_weather", ["arguments"] = arguments.DeepClone() },
                new JsonObject { ["type"] = "function_call_output", ["call_id"] = "call_1", ["output"] = "22 C" });
            return valid;
        };
    }

    private static Func<JsonObject, bool> ChatCall(JsonNode? arguments, bool valid) => body =>
    {
        var function = new JsonObject { ["name"] = "get_weather", ["arguments"] = arguments?.DeepClone() };
        body["messages"] = new JsonArray(
            new JsonObject { ["role"] = "user", ["content"] = "Weather?" },
            new JsonObject { ["role"] = "assistant", ["content"] = null, ["tool_calls"] = new JsonArray(new JsonObject { ["id"] = "call_1", ["type"] = "function", ["function"] = function }) },
            new JsonObject { ["role"] = "tool", ["tool_call_id"] = "call_1", ["content"] = "22 C" });
        return valid;
    };
}
