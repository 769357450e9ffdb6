using System.Text;
using System.Text.Json.Nodes;

namespace Qwen.Server.Tests.Robustness;

/// <summary>
/// Seeded generator of hostile requests to /v1/chat/completions, /v1/completions, /v1/responses, /tokenize and /detokenize. Each case
/// carries its own verdict, decided here from the OpenAI rules and the server's stated limits (the oracle is this
/// table, not the server): a mutation is either valid or not, and a request is valid only when every mutation applied
/// to a valid base is. Mutations of fields that the server reads together (max_tokens/max_completion_tokens,
/// stream/stream_options, tools/tool_choice/parallel_tool_calls, logprobs/top_logprobs) are one group, set at once.
/// Byte-level corruptions (truncated, garbage, invalid UTF-8, raw control characters, lone surrogates, bodies that are
/// no object) apply to every endpoint.
/// </summary>
internal sealed class FuzzCaseGenerator(int seed, string modelName)
{
    public const string Chat = "/v1/chat/completions";
    public const string Completions = "/v1/completions";
    public const string Responses = "/v1/responses";
    public const string Tokenize = "/tokenize";
    public const string Detokenize = "/detokenize";

    /// <summary>The endpoints in the order the summary prints them.</summary>
    public static readonly string[] Endpoints = [Chat, Completions, Responses, Tokenize, Detokenize];

    private readonly Random _random = new(seed);

    /// <summary>Body forms: /tokenize takes a prompt or messages, and each form has its own fields.</summary>
    private const string TokenizePrompt = "tokenize-prompt", TokenizeMessages = "tokenize-messages";

    private readonly Dictionary<string, (string Name, Func<JsonObject, bool>[] Mutations)[]> _groups = new()
    {
        [Chat] = FuzzMutations.ChatGroups(modelName),
        [Completions] = FuzzMutations.CompletionGroups(modelName),
        [Responses] = FuzzNestedMutations.ResponsesGroups(),
        [TokenizePrompt] = FuzzMutations.TokenizePromptGroups(),
        [TokenizeMessages] = FuzzMutations.TokenizeMessagesGroups(),
        [Detokenize] = FuzzMutations.DetokenizeGroups(),
    };

    public FuzzCase Next()
    {
        // Chat has the most fields, so the most cases; the small endpoints still get hundreds each.
        var form = _random.Next(100) switch { < 40 => Chat, < 60 => Completions, < 72 => Responses, < 80 => TokenizePrompt, < 88 => TokenizeMessages, _ => Detokenize };
        return _random.Next(100) switch
        {
            < 7 => Truncated(form),
            < 11 => Garbage(form),
            < 15 => InvalidUtf8InString(form),
            < 18 => RawControlCharacter(form),
            < 21 => TopLevelNotObject(form),
            < 25 => WrongContentType(form),
            < 27 => LoneSurrogate(form),
            _ => Mutated(form),
        };
    }

    /// <summary>Every mutation of every form once, alone on its base: each rule is exercised whatever the random draws.</summary>
    public IEnumerable<FuzzCase> EveryMutationOnce()
    {
        foreach (var (form, groups) in _groups)
        {
            foreach (var (name, mutations) in groups)
            {
                for (var m = 0; m < mutations.Length; m++)
                {
                    var body = Base(form, modelName);
                    var valid = mutations[m](body);
                    var stream = body["stream"] is JsonValue v && v.TryGetValue<bool>(out var s) && s;
                    yield return new FuzzCase(PathOf(form), $"{name}#{m}", Encoding.UTF8.GetBytes(body.ToJsonString()), "application/json", valid, stream);
                }
            }
        }
    }

    private static string PathOf(string form) => form is TokenizePrompt or TokenizeMessages ? Tokenize : form;

    /// <summary>The valid body each form's mutations start from.</summary>
    public static JsonObject Base(string form, string model) => form switch
    {
        Chat => new JsonObject
        {
            ["model"] = model,
            ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = "Say something." }),
            ["max_tokens"] = 2,
            ["temperature"] = 0,
        },
        Completions => new JsonObject { ["model"] = model, ["prompt"] = "Say something.", ["max_tokens"] = 2, ["temperature"] = 0 },
        Responses => new JsonObject { ["model"] = model, ["input"] = "Say something.", ["max_output_tokens"] = 2, ["temperature"] = 0 },
        TokenizePrompt => new JsonObject { ["prompt"] = "Say something." },
        TokenizeMessages => new JsonObject { ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = "Say something." }) },
        // An ignored text field gives the byte-level corruptions a string to damage.
        _ => new JsonObject { ["tokens"] = new JsonArray(9707, 11, 1879), ["note"] = "Say something." },
    };

    private FuzzCase Mutated(string form)
    {
        var body = Base(form, modelName);
        var valid = true;
        var names = new List<string>();
        var groups = _groups[form];
        var written = new HashSet<string>();
        foreach (var g in groups.OrderBy(_ => _random.Next()).Take(1 + _random.Next(Math.Min(3, groups.Length))))
        {
            var m = _random.Next(g.Mutations.Length);
            var trial = (JsonObject)body.DeepClone();
            var verdict = g.Mutations[m](trial);
            // Two groups that write one field (messages from tool-call arguments and from nested content): the later
            // would overwrite the earlier's value but not its verdict, so only the first is applied.
            var fields = Changed(body, trial);
            if (fields.Overlaps(written))
            {
                continue;
            }
            written.UnionWith(fields);
            body = trial;
            valid &= verdict;
            names.Add($"{g.Name}#{m}");
        }
        var stream = body["stream"] is JsonValue v && v.TryGetValue<bool>(out var s) && s;
        return new FuzzCase(PathOf(form), string.Join('+', names), Encoding.UTF8.GetBytes(body.ToJsonString()), "application/json", valid, stream);
    }

    /// <summary>The top-level fields whose values differ between <paramref name="a"/> and <paramref name="b"/> (added and removed ones too).</summary>
    private static HashSet<string> Changed(JsonObject a, JsonObject b)
        => [.. a.Select(p => p.Key).Union(b.Select(p => p.Key)).Where(k => !JsonNode.DeepEquals(a[k], b[k]))];

    private FuzzCase Truncated(string form)
    {
        var json = Encoding.UTF8.GetBytes(Base(form, modelName).ToJsonString());
        // Any proper prefix of a compact JSON object leaves it unclosed: never valid.
        return new FuzzCase(PathOf(form), "truncated", json[..(1 + _random.Next(json.Length - 1))], "application/json", false, false);
    }

    private FuzzCase Garbage(string form)
    {
        var bytes = new byte[1 + _random.Next(200)];
        _random.NextBytes(bytes);
        bytes[0] = (byte)'x'; // no JSON value starts with 'x': random bytes that happen to parse are ruled out
        return new FuzzCase(PathOf(form), "garbage-bytes", bytes, "application/json", false, false);
    }

    private FuzzCase InvalidUtf8InString(string form)
    {
        // A lone continuation byte, a truncated 2- and 3-byte sequence, an encoded surrogate, a 5-byte form, an overlong '/', a lone 0xC0.
        byte[][] bad = [[0xFF], [0x80], [0xC3, 0x28], [0xE2, 0x82], [0xED, 0xA0, 0x80], [0xF8, 0x88, 0x80, 0x80, 0x80], [0xC0, 0xAF], [0xF4, 0x90, 0x80, 0x80]];
        var json = Base(form, modelName).ToJsonString();
        var at = json.IndexOf("Say", StringComparison.Ordinal);
        var prefix = Encoding.UTF8.GetBytes(json[..at]);
        return new FuzzCase(PathOf(form), "invalid-utf8", [.. prefix, .. bad[_random.Next(bad.Length)], .. Encoding.UTF8.GetBytes(json[at..])], "application/json", false, false);
    }

    private FuzzCase RawControlCharacter(string form)
    {
        // JSON forbids unescaped U+0000..U+001F inside strings (RFC 8259 section 7), NUL included.
        var c = _random.Next(3) == 0 ? '\0' : (char)_random.Next(0, 0x20);
        var json = Base(form, modelName).ToJsonString().Replace("Say something.", "Say" + c + "something.", StringComparison.Ordinal);
        return new FuzzCase(PathOf(form), "raw-control-char", Encoding.UTF8.GetBytes(json), "application/json", false, false);
    }

    private FuzzCase LoneSurrogate(string form)
    {
        // RFC 8259 lets an escaped lone surrogate through the grammar, but the string is no Unicode text; the server's
        // stated rule (Endpoints/RequestBody.cs) is a 400, never a replacement character.
        string[] escapes = ["\\ud800", "\\udfff", "\\ud83d x", "\\ude00\\ud83d", "\\udbff\\u0041"];
        var json = Base(form, modelName).ToJsonString().Replace("Say something.", "Say " + escapes[_random.Next(escapes.Length)], StringComparison.Ordinal);
        return new FuzzCase(PathOf(form), "lone-surrogate", Encoding.UTF8.GetBytes(json), "application/json", false, false);
    }

    private FuzzCase TopLevelNotObject(string form)
    {
        string[] bodies = ["[]", "[{\"role\":\"user\"}]", "1", "\"hello\"", "null", "true", "", " ", "{}", "{\"a\":1}{\"b\":2}", "{} []"];
        return new FuzzCase(PathOf(form), "top-level", Encoding.UTF8.GetBytes(bodies[_random.Next(bodies.Length)]), "application/json", false, false);
    }

    private FuzzCase WrongContentType(string form)
    {
        // The body decides: like OpenAI's and vLLM's servers, a valid JSON body is accepted whatever the content type says.
        string?[] types = ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", null, "application/json; charset=utf-16", "image/png"];
        var inner = _random.Next(2) == 0 ? Mutated(form) : Truncated(form);
        return inner with { Kind = "content-type+" + inner.Kind, ContentType = types[_random.Next(types.Length)] };
    }
}
