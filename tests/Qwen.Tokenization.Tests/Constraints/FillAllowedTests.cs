using System.Text;
using Qwen.Tokenization.Constraints;

namespace Qwen.Tokenization.Tests.Constraints;

/// <summary>
/// <see cref="TokenGrammar.FillAllowed"/> against its oracle, an <see cref="TokenGrammar.IsAllowed"/> loop over every id of
/// the real vocabulary's mask: byte by byte through texts that visit structure, string bodies with and without maxLength
/// (room above and below the per-count bitsets), pattern strings, a partly written <c>&lt;/tool_call&gt;</c> in the
/// arguments, free text with and without a pending '&lt;', the completed grammar and after a stop; then seeded random walks.
/// </summary>
public sealed class FillAllowedTests
{
    private const string Nested = """
        {"type": "object", "properties": {
          "name": {"type": "string", "maxLength": 20},
          "free": {"type": "string"},
          "zip": {"type": "string", "pattern": "^[0-9]{5}$"},
          "when": {"type": "string", "format": "date"},
          "tags": {"type": "array", "items": {"type": "string", "maxLength": 3}, "maxItems": 3},
          "inner": {"type": "object", "properties": {"n": {"type": "integer", "maximum": 50}, "s": {"type": "string", "maxLength": 40}}, "required": ["n"]},
          "contact": {"anyOf": [{"type": "object", "properties": {"email": {"type": "string", "maxLength": 30}}, "required": ["email"]}, {"type": "null"}]}},
         "required": ["name", "free", "zip", "when", "tags", "inner", "contact"]}
        """;

    private const string NestedText = """{"name": "Ada Lovelace née", "free": "any <b>text</b> \" \\ é 漢字 here", "zip": "12345", "when": "2024-01-31", "tags": ["a", "bc"], "inner": {"n": 42, "s": "one two three four five six seven"}, "contact": {"email": "ada@example.com"}}""";

    private const string Weather = """{"type": "object", "properties": {"city": {"type": "string", "maxLength": 30}, "unit": {"enum": ["celsius", "fahrenheit"]}}, "required": ["city"], "additionalProperties": false}""";

    private const string Note = """{"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]}""";

    private static readonly int MaskWords = (GrammarDriver.VocabularySize + 63) / 64;

    private static ToolGrammar[] Functions => [new("get_weather", SchemaGrammars.Compile(Weather)), new("note", SchemaGrammars.Compile(Note))];

    public static TheoryData<string> Cases => ["json_object", "json_schema", "required_names", "required_functions", "named", "auto"];

    [Theory]
    [MemberData(nameof(Cases))]
    public void FillAllowed_EveryByteOfAValidText_SameAsIsAllowedLoop(string name)
    {
        var (grammar, text) = Create(name);
        AssertSame(grammar, "start");
        var bytes = Encoding.UTF8.GetBytes(text);
        for (var i = 0; i < bytes.Length; i++)
        {
            var id = GrammarDriver.ByteToken(bytes[i]);
            Assert.True(grammar.IsAllowed(id), $"{name}: byte {i} of the text refused");
            grammar.Accept(id);
            AssertSame(grammar, $"{name} after {Encoding.UTF8.GetString(bytes, 0, i + 1)}");
        }
        Assert.True(grammar.IsComplete);
        grammar.Accept(GrammarDriver.ImEnd);
        AssertSame(grammar, $"{name} after the stop");
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void FillAllowed_RandomWalks_SameAsIsAllowedLoop(string name)
    {
        for (var seed = 0; seed < 2; seed++)
        {
            var rng = new Random(seed);
            var (grammar, _) = Create(name);
            for (var step = 0; step < 400; step++)
            {
                var allowed = AssertSame(grammar, $"{name} seed {seed} step {step}");
                Assert.NotEmpty(allowed);
                var id = step < 40 ? Pick(allowed, rng) : GrammarDriver.Closing(grammar);
                grammar.Accept(id);
                if (GrammarDriver.StopIds.Contains(id))
                {
                    AssertSame(grammar, $"{name} seed {seed} after the stop");
                    break;
                }
            }
            Assert.True(grammar.IsComplete);
        }
    }

    [Fact]
    public void FillAllowed_ShortMaskAndDirtyBits_SetsOnlyAllowedIdsWithinIt()
    {
        var grammar = TokenGrammar.JsonSchema(GrammarDriver.Tokens, CompiledJsonSchema.AnyObject, GrammarDriver.StopIds);
        Assert.Equal(-1, GrammarDriver.FeedBytes(grammar, "{\"a\": \"x"));
        var mask = new ulong[100];
        Array.Fill(mask, ulong.MaxValue);
        grammar.FillAllowed(mask);
        for (var id = 0; id < mask.Length * 64; id++)
        {
            Assert.Equal(grammar.IsAllowed(id), (mask[id >> 6] & (1UL << id)) != 0);
        }
    }

    [Fact]
    public void FillAllowed_PlainTokenCompletingToolCallClose_RefusedAsByIsAllowed()
    {
        // Qwen2.5 has no plain token starting with a proper suffix of "</tool_call>" but ">", whose first byte the walk
        // refuses anyway; a vocabulary with "l>" and "ll>" reaches IsAllowed's guard rule for plain content.
        byte[]?[] vocabulary = [.. Enumerable.Range(0, 256).Select(b => new[] { (byte)b }), "l>"u8.ToArray(), "ll>"u8.ToArray(), "ab"u8.ToArray(), "</tool_call>"u8.ToArray(), "<|im_end|>"u8.ToArray(), null];
        var tokens = new TokenBytes(vocabulary, [260]);
        var grammar = TokenGrammar.NamedToolCall(tokens, CompiledJsonSchema.AnyObject, [260]);
        var words = (vocabulary.Length + 63) / 64;
        foreach (var b in """{"a": "x</tool_cal"""u8.ToArray())
        {
            grammar.Accept(b);
            var mask = new ulong[words];
            grammar.FillAllowed(mask);
            for (var id = 0; id < words * 64; id++)
            {
                Assert.Equal(grammar.IsAllowed(id), (mask[id >> 6] & (1UL << id)) != 0);
            }
        }
        Assert.False(grammar.IsAllowed(256)); // "l>" would write "</tool_call>"
        Assert.True(grammar.IsAllowed(257));
    }

    private static (TokenGrammar Grammar, string Text) Create(string name)
    {
        var tokens = GrammarDriver.Tokens;
        var stops = GrammarDriver.StopIds;
        return name switch
        {
            "json_object" => (TokenGrammar.JsonSchema(tokens, CompiledJsonSchema.AnyObject, stops), "{\"a\": \"h\u00e9 </tool_call> x\", \"b\": [1, -2.5e3, true, null, {}], \"c\": {\"d\": \"\\u00e9\\n\"}}"),
            "json_schema" => (SchemaGrammars.For(Nested), NestedText),
            "required_names" => (TokenGrammar.RequiredToolCall(tokens, [new("get_weather", CompiledJsonSchema.AnyObject), new("note", CompiledJsonSchema.AnyObject)], parallel: true, stops),
                "{\"name\": \"note\", \"arguments\": {\"text\": \"a </tool_call b\"}}\n</tool_call>\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {}}\n</tool_call>"),
            "required_functions" => (TokenGrammar.RequiredToolCall(tokens, Functions, parallel: false, stops),
                "{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris </tool_call is long ok\", \"unit\": \"celsius\"}}\n</tool_call>"),
            "named" => (TokenGrammar.NamedToolCall(tokens, SchemaGrammars.Compile(Note), stops), "{\"text\": \"x</tool_cal\"}}\n</tool_call>"),
            _ => (TokenGrammar.AutoToolCalls(tokens, Functions, parallel: true, stops),
                "Let me check <b>that</b> < tool. <tool_call>\n{\"name\": \"note\", \"arguments\": {\"text\": \"hi </tool_call\"}}\n</tool_call>\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Oslo\"}}\n</tool_call>"),
        };
    }

    /// <summary>Asserts FillAllowed (on a dirty mask, then again once IsAllowed has built its caches) matches IsAllowed on every id; returns the allowed ids.</summary>
    private static List<int> AssertSame(TokenGrammar grammar, string where)
    {
        var mask = new ulong[MaskWords];
        Array.Fill(mask, 0xA5A5A5A5A5A5A5A5UL);
        grammar.FillAllowed(mask);
        var allowed = new List<int>();
        for (var id = 0; id < MaskWords * 64; id++)
        {
            var expected = grammar.IsAllowed(id);
            if (expected != ((mask[id >> 6] & (1UL << id)) != 0))
            {
                Assert.Fail($"{where}: id {id} ({Encoding.UTF8.GetString(GrammarDriver.Tokens[id])}) IsAllowed {expected}, FillAllowed {!expected}");
            }
            if (expected)
            {
                allowed.Add(id);
            }
        }
        var again = new ulong[MaskWords];
        grammar.FillAllowed(again);
        Assert.Equal(mask, again);
        return allowed;
    }

    /// <summary>A random allowed id, half the time one with JSON punctuation (so walks leave strings), never a stop.</summary>
    private static int Pick(List<int> allowed, Random rng)
    {
        var text = allowed.Where(id => !GrammarDriver.StopIds.Contains(id)).ToList();
        if (text.Count == 0)
        {
            return allowed[0];
        }
        var punctuated = text.Where(id => GrammarDriver.Tokens[id].IndexOfAny("\"{}[],:"u8) >= 0).ToList();
        var pool = punctuated.Count > 0 && rng.Next(2) == 0 ? punctuated : text;
        return pool[rng.Next(pool.Count)];
    }
}
