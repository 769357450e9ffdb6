using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using Qwen.Tokenization.Constraints;

namespace Qwen.Tokenization.Tests.Constraints;

/// <summary>
/// JSON syntax as the schema walk enforces it (any value: <c>{}</c>; any object: <see cref="CompiledJsonSchema.AnyObject"/>),
/// byte by byte over a one-byte-per-token vocabulary, against a hand-written table and System.Text.Json on random and
/// mutated texts: UTF-8 well-formedness, surrogate-pair escapes, numbers, literals, depth and whitespace.
/// </summary>
public sealed class JsonValueTests
{
    private const int Stop = 256;

    // One token per byte, and a stop: every byte sequence, valid UTF-8 or not, can be offered.
    private static readonly TokenBytes ByteTokens = new([.. Enumerable.Range(0, 256).Select(b => new[] { (byte)b }), "<|im_end|>"u8.ToArray()], [Stop]);
    private static readonly CompiledJsonSchema AnyValue = SchemaGrammars.Compile("{}");

    /// <summary>Texts every prefix of which must be accepted; completeness is checked against System.Text.Json per prefix.</summary>
    public static TheoryData<string> ValidTexts => new()
    {
        "{}", "[]", "0", "-0", "1e5", "1.5E-3", "-12.75e+10", "0.0e-0", "1E+10", "123456789012345", "-0.5",
        "true", "false", "null", "\"\"", "\"abc\"", "\"\\u00e9\"", "\"\\u00E9x\"", "\"é\"", "\"中文\"", "\"😀\"",
        "\"\\ud83d\\ude00\"", "\"\\uD83D\\uDE00\"", "\"\\uD7FF\\uE000\"", "\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"", "\"\u007f\"",
        "{\"a\":1}", "{\"a\\\"b\":[true,false,null,{}]}", "{ \"a\" : [ 1 , 2 ] , \"b\" : { } }",
        "[1,[2,[3,{\"x\":\"y\"}]],-0.0]", "[\"\",\"\",\"\"]", "{\"\":\"\"}", "[0,1,-1,0e1,10E-01]",
        new string('[', 32) + new string(']', 32),
        "{" + string.Concat(Enumerable.Repeat("\"a\":{", 31)) + new string('}', 32),
        "{\n  \"a\": [\n    1,\n    {}\n  ]\n}",
        "[1,\n  2]",
        "\"" + new string(' ', 100) + "\"",
    };

    /// <summary>Texts refused at a hand-counted byte (index), or (-1) accepted throughout but incomplete at the end.</summary>
    public static TheoryData<byte[], int> InvalidTexts => new()
    {
        { Ascii("01"), 1 }, { Ascii("-01"), 2 }, { Ascii("[01]"), 2 }, { Ascii("+1"), 0 }, { Ascii(".5"), 0 }, { Ascii("[.1]"), 1 },
        { Ascii("1.e5"), 2 }, { Ascii("1e"), -1 }, { Ascii("[1e+]"), 4 }, { Ascii("-"), -1 }, { Ascii("[-]"), 2 }, { Ascii("1 2"), 1 },
        { Ascii("NaN"), 0 }, { Ascii("Infinity"), 0 }, { Ascii("-Infinity"), 1 }, { Ascii("0x10"), 1 },
        { Ascii("tru e"), 3 }, { Ascii("nul"), -1 }, { Ascii("nulll"), 4 }, { Ascii("True"), 0 },
        { Ascii("[1,]"), 3 }, { Ascii("[1 2]"), 3 }, { Ascii("[]]"), 2 }, { Ascii("{}{}"), 2 }, { Ascii("{,}"), 1 },
        { Ascii("{\"a\":1,}"), 7 }, { Ascii("{\"a\" 1}"), 5 }, { Ascii("{\"a\":}"), 5 }, { Ascii("{'a':1}"), 1 }, { Ascii("{1:2}"), 1 },
        { Ascii("[}"), 1 }, { Ascii("{]"), 1 }, { Ascii("{\"a\":1]"), 6 }, { Ascii("\"abc"), -1 }, { Ascii("{\"a\":1"), -1 },
        { Ascii("\"\u0001\""), 1 }, { Ascii("\"a\nb\""), 2 }, { Ascii("\"\t\""), 1 }, { Ascii("\"\\x\""), 2 }, { Ascii("\"\\u00g0\""), 5 },
        { Ascii("\"\\U00e9\""), 2 }, { Ascii("\"\\ud83d\""), 7 }, { Ascii("\"\\ud83dx\""), 7 }, { Ascii("\"\\ud83d\\u0041\""), 9 },
        { Ascii("\"\\ude00\""), 4 }, { Ascii("\"\\uDFFF\""), 4 },
        { [(byte)'"', 0xC3, (byte)'"'], 2 }, { [(byte)'"', 0xC0, 0x80, (byte)'"'], 1 }, { [(byte)'"', 0xC1, 0xBF], 1 },
        { [(byte)'"', 0xE0, 0x80, 0x80], 2 }, { [(byte)'"', 0xED, 0xA0, 0x80], 2 }, { [(byte)'"', 0xF0, 0x80, 0x80, 0x80], 2 },
        { [(byte)'"', 0xF4, 0x90, 0x80, 0x80], 2 }, { [(byte)'"', 0xF5, 0x80], 1 }, { [(byte)'"', 0x80], 1 }, { [(byte)'"', 0xFF], 1 },
        { [(byte)'"', 0xE2, 0x82, (byte)'"'], 3 }, { [0xEF, 0xBB, 0xBF, (byte)'1'], 0 }, { [(byte)'[', 0xC3, 0xA9], 1 },
        { Ascii(new string('[', 33)), 32 },
        { Ascii(" {}"), 0 }, { Ascii("{} "), 2 }, { Ascii("[1,  2]"), 4 }, { Ascii("[1,\n   2]"), 6 }, { Ascii("[\t1]"), 1 },
        { Ascii("{\"a\"\r:1}"), 4 }, { Ascii("[ \n1]"), 2 }, { Ascii("1234567890123456"), 15 },
    };

    [Theory]
    [MemberData(nameof(ValidTexts))]
    public void AnyValue_EveryPrefixOfValidText_AcceptedAndCompleteExactlyWhenSystemTextJsonParsesIt(string text)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        var grammar = Grammar(AnyValue);
        for (var i = 0; i < bytes.Length; i++)
        {
            Assert.True(grammar.IsAllowed(bytes[i]), $"byte {i} (0x{bytes[i]:X2}) of {JsonSerializer.Serialize(text)} refused");
            grammar.Accept(bytes[i]);
            Assert.True(grammar.IsComplete == JsonReference.Parses(bytes.AsSpan(0, i + 1)), $"completeness after {i + 1} bytes of {JsonSerializer.Serialize(text)}");
        }
        Assert.True(grammar.IsComplete);
    }

    [Theory]
    [MemberData(nameof(InvalidTexts))]
    public void AnyValue_InvalidText_RefusedAtTheOffendingByte(byte[] bytes, int refusedAt)
    {
        var grammar = Grammar(AnyValue);
        var firstRefused = FirstRefused(grammar, bytes);
        Assert.Equal(refusedAt, firstRefused);
        Assert.False(refusedAt < 0 && grammar.IsComplete, "an incomplete text reported complete");
    }

    [Theory]
    [InlineData("{}", -1)]
    [InlineData("{\"a\":[1]}", -1)]
    [InlineData(" \n{\"a\":[1]} ", 0)]
    [InlineData("[]", 0)]
    [InlineData("\"a\"", 0)]
    [InlineData("1", 0)]
    [InlineData("null", 0)]
    [InlineData("  [", 0)]
    public void AnyObject_RootThatIsNotAnObject_RefusedAtItsFirstByte(string text, int refusedAt)
    {
        var grammar = Grammar(CompiledJsonSchema.AnyObject);
        Assert.Equal(refusedAt, FirstRefused(grammar, Encoding.UTF8.GetBytes(text)));
        Assert.Equal(refusedAt < 0, grammar.IsComplete);
    }

    [Fact]
    public void AnyValue_RandomValuesSerializedBySystemTextJson_AcceptedAndComplete()
    {
        var rng = new Random(1234);
        for (var n = 0; n < 2000; n++)
        {
            var node = RandomNode(rng, depth: 0);
            var objectRoot = node is JsonObject;
            var bytes = Serialize(node, rng);
            var grammar = Grammar(objectRoot && rng.Next(2) == 0 ? CompiledJsonSchema.AnyObject : AnyValue);
            for (var i = 0; i < bytes.Length; i++)
            {
                Assert.True(grammar.IsAllowed(bytes[i]), $"byte {i} of {JsonSerializer.Serialize(Encoding.UTF8.GetString(bytes))} refused");
                grammar.Accept(bytes[i]);
                if (objectRoot && i < bytes.Length - 1)
                {
                    Assert.False(grammar.IsComplete, $"complete after {i + 1} bytes of {Encoding.UTF8.GetString(bytes)}");
                }
            }
            Assert.True(grammar.IsComplete, Encoding.UTF8.GetString(bytes));
        }
    }

    [Fact]
    public void AnyValue_MutatedTexts_CompleteExactlyWhenSystemTextJsonParsesThem()
    {
        // One byte deleted, inserted or replaced in a compact random text, never a space (so whitespace, depth and
        // digit counts stay in the walk's bounds).
        var alphabet = "{}[],:\"\\0123456789.-+eEtrufalsnbx\u0001"u8.ToArray().Concat(new byte[] { 0x80, 0xC3, 0xE2 }).ToArray();
        var rng = new Random(99);
        var agreed = new int[2];
        for (var n = 0; n < 5000; n++)
        {
            var bytes = Serialize(RandomNode(rng, depth: 0), rng, indented: false).ToList();
            var at = rng.Next(bytes.Count + 1);
            switch (rng.Next(3))
            {
                case 0 when at < bytes.Count: bytes.RemoveAt(at); break;
                case 1 when at < bytes.Count: bytes[at] = alphabet[rng.Next(alphabet.Length)]; break;
                default: bytes.Insert(at, alphabet[rng.Next(alphabet.Length)]); break;
            }
            var text = bytes.ToArray();
            var grammar = Grammar(AnyValue);
            var accepted = FirstRefused(grammar, text) < 0 && grammar.IsComplete;
            var expected = JsonReference.Parses(text);
            Assert.True(accepted == expected, $"the walk {(accepted ? "accepts" : "refuses")} {Convert.ToHexString(text)} ({Encoding.UTF8.GetString(text)})");
            agreed[expected ? 1 : 0]++;
        }
        Assert.True(agreed[0] > 1000 && agreed[1] > 500, $"too few of one kind: {agreed[0]} invalid, {agreed[1]} valid");
    }

    private static TokenGrammar Grammar(CompiledJsonSchema schema) => TokenGrammar.JsonSchema(ByteTokens, schema, [Stop]);

    /// <summary>Accepts <paramref name="bytes"/> one by one; the index of the first refused byte (the grammar left as before it), or -1.</summary>
    private static int FirstRefused(TokenGrammar grammar, byte[] bytes)
    {
        for (var i = 0; i < bytes.Length; i++)
        {
            if (!grammar.IsAllowed(bytes[i]))
            {
                return i;
            }
            grammar.Accept(bytes[i]);
        }
        return -1;
    }

    private static byte[] Ascii(string s) => Encoding.Latin1.GetBytes(s);

    private static readonly string[] Numbers =
        ["0", "-0", "1e5", "1.5E-3", "-12.75e+10", "123456789012", "0.000001", "7", "-1", "2E30", "0e-0"];

    private static readonly string[] Pieces = ["a", "Z", "9", " ", "\"", "\\", "/", "\n", "\t", "\u0000", "\u001f", "\u007f", "é", "中", "😀", "\u2028", "<", "'"];

    private static JsonNode? RandomNode(Random rng, int depth)
    {
        var kind = depth >= 5 ? rng.Next(2, 5) : rng.Next(7); // containers up to depth 5: indented runs stay within the whitespace limit
        switch (kind)
        {
            case 0:
                var obj = new JsonObject();
                for (var i = rng.Next(4); i > 0; i--)
                {
                    obj[RandomString(rng) + i.ToString(System.Globalization.CultureInfo.InvariantCulture)] = RandomNode(rng, depth + 1);
                }
                return obj;
            case 1:
                var array = new JsonArray();
                for (var i = rng.Next(4); i > 0; i--)
                {
                    array.Add(RandomNode(rng, depth + 1));
                }
                return array;
            case 2: return JsonValue.Create(RandomString(rng));
            // Within the walk's digit bounds (15 integer, 12 fraction, 3 exponent digits) even after one inserted digit.
            case 3: return JsonNode.Parse(rng.Next(2) == 0 ? Numbers[rng.Next(Numbers.Length)] : FormattableString.Invariant($"{rng.Next(-9999, 9999)}.{rng.Next(1000)}e{rng.Next(-99, 99)}"));
            case 4: return rng.Next(3) switch { 0 => JsonValue.Create(true), 1 => JsonValue.Create(false), _ => null };
            default: return depth % 2 == 0 ? new JsonArray(RandomNode(rng, depth + 1)) : new JsonObject { ["k"] = RandomNode(rng, depth + 1) };
        }
    }

    private static string RandomString(Random rng)
    {
        var sb = new StringBuilder();
        for (var i = rng.Next(6); i > 0; i--)
        {
            sb.Append(Pieces[rng.Next(Pieces.Length)]);
        }
        return sb.ToString();
    }

    /// <summary>Serializes with System.Text.Json: raw UTF-8 or \u escapes (surrogate pairs included), compact or indented.</summary>
    private static byte[] Serialize(JsonNode? node, Random rng, bool? indented = null)
    {
        var options = new JsonSerializerOptions
        {
            WriteIndented = indented ?? rng.Next(2) == 0,
            Encoder = rng.Next(2) == 0 ? JavaScriptEncoder.UnsafeRelaxedJsonEscaping : JavaScriptEncoder.Default,
        };
        return node is null ? "null"u8.ToArray() : JsonSerializer.SerializeToUtf8Bytes(node, options);
    }
}
