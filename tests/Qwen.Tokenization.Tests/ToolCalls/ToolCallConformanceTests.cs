using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Qwen.Tokenization.ToolCalls;

namespace Qwen.Tokenization.Tests.ToolCalls;

/// <summary>
/// One table of cases, each run whole (<see cref="ToolCallParser.Parse"/>) and streamed under several deterministic
/// splits (one delta, char by char, random chunks with fixed seeds), every result compared with hand-written
/// expectations; plus property tests on random calls rendered as Qwen2.5 writes them and on random malformed text.
/// </summary>
public sealed class ToolCallConformanceTests
{
    private const string Call = "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>";
    private const string Weather = "get_weather|{\"city\": \"Paris\"}";

    public static TheoryData<string, string, string?, string[]> Cases => new()
    {
        // name, model output, expected content, expected calls as "name|arguments"
        { "plain text", "Hello there.\n", "Hello there.\n", [] },
        { "one call", Call, null, [Weather] },
        { "text then call", "Let me check.\n" + Call, "Let me check.", [Weather] },
        { "two calls", Call + "\n" + Call.Replace("Paris", "東京", StringComparison.Ordinal), null, [Weather, "get_weather|{\"city\": \"東京\"}"] },
        { "text after call", Call + "\nDone.", "Done.", [Weather] },
        { "text, call, text", "Checking.\n\n" + Call + "\n\n It is sunny. ", "Checking.It is sunny. ", [Weather] },
        { "text between calls", Call + " so \n" + Call, "so", [Weather, Weather] },
        { "compact json", "<tool_call>{\"name\":\"f\",\"arguments\":{\"a\":[1,{\"b\":2}]}}</tool_call>", null, ["f|{\"a\":[1,{\"b\":2}]}"] },
        { "unknown function name passes through", "<tool_call>\n{\"name\": \"no_such_tool\", \"arguments\": {\"x\": 1}}\n</tool_call>", null, ["no_such_tool|{\"x\": 1}"] },
        { "escaped name", "<tool_call>{\"name\": \"say\\\"caf\\u00e9\", \"arguments\": {}}</tool_call>", null, ["say\"café|{}"] },
        {
            "nested unicode, emoji and escapes in arguments",
            "<tool_call>\n{\"name\": \"翻译\", \"arguments\": {\"text\": \"早上好 🌅 \\\"q\\\" \\\\ \\n \\u00e9 \\ud83d\\ude00\", \"opts\": {\"list\": [1, -2.5e3, true, false, null, {\"deep\": [\"}\", \"]\", \"{\", \"\\\"}\"]}]}}}\n</tool_call>",
            null,
            ["翻译|{\"text\": \"早上好 🌅 \\\"q\\\" \\\\ \\n \\u00e9 \\ud83d\\ude00\", \"opts\": {\"list\": [1, -2.5e3, true, false, null, {\"deep\": [\"}\", \"]\", \"{\", \"\\\"}\"]}]}}"]
        },
        { "close tag inside a string argument", "<tool_call>\n{\"name\": \"echo\", \"arguments\": {\"t\": \"a </tool_call> b <tool_call> c\"}}\n</tool_call>", null, ["echo|{\"t\": \"a </tool_call> b <tool_call> c\"}"] },
        { "arguments before name", "<tool_call>\n{\"arguments\": {\"city\": \"Paris\"}, \"name\": \"get_weather\"}\n</tool_call>", null, [Weather] },
        { "extra key before arguments", "<tool_call>{\"name\": \"f\", \"id\": 7, \"arguments\": {\"a\": 1}}</tool_call>", null, ["f|{\"a\": 1}"] },
        { "no arguments", "<tool_call>{\"name\": \"now\"}</tool_call>", null, ["now|{}"] },
        { "arguments as string holding json", "<tool_call>{\"name\": \"f\", \"arguments\": \"{\\\"a\\\": 1}\"}</tool_call>", null, ["f|{\"a\": 1}"] },
        { "arguments as string holding json with spaces", "<tool_call>{\"name\": \"f\", \"arguments\": \" {\\\"a\\\": 1} \"}</tool_call>", null, ["f| {\"a\": 1} "] },
        { "arguments as non-json string", "<tool_call>{\"name\": \"f\", \"arguments\": \"not json\"}</tool_call>", "<tool_call>{\"name\": \"f\", \"arguments\": \"not json\"}</tool_call>", [] },
        { "arguments as string holding an array", "<tool_call>{\"name\": \"f\", \"arguments\": \"[1, 2]\"}</tool_call>", "<tool_call>{\"name\": \"f\", \"arguments\": \"[1, 2]\"}</tool_call>", [] },
        { "arguments as empty string", "<tool_call>{\"name\": \"f\", \"arguments\": \"\"}</tool_call>", "<tool_call>{\"name\": \"f\", \"arguments\": \"\"}</tool_call>", [] },
        { "arguments null", "<tool_call>{\"name\": \"f\", \"arguments\": null}</tool_call>", "<tool_call>{\"name\": \"f\", \"arguments\": null}</tool_call>", [] },
        { "arguments array", "<tool_call>{\"name\": \"f\", \"arguments\": [1, 2]}</tool_call>", "<tool_call>{\"name\": \"f\", \"arguments\": [1, 2]}</tool_call>", [] },
        { "arguments number", "<tool_call>{\"name\": \"f\", \"arguments\": 3}</tool_call>", "<tool_call>{\"name\": \"f\", \"arguments\": 3}</tool_call>", [] },
        { "empty name", "<tool_call>{\"name\": \"\", \"arguments\": {}}</tool_call>", "<tool_call>{\"name\": \"\", \"arguments\": {}}</tool_call>", [] },
        { "empty name, arguments first", "<tool_call>{\"arguments\": {}, \"name\": \"\"}</tool_call>", "<tool_call>{\"arguments\": {}, \"name\": \"\"}</tool_call>", [] },
        { "name not a string", "<tool_call>{\"name\": 7, \"arguments\": {}}</tool_call>", "<tool_call>{\"name\": 7, \"arguments\": {}}</tool_call>", [] },
        { "bad json stays content", "<tool_call>\n{\"name\": oops}\n</tool_call>", "<tool_call>\n{\"name\": oops}\n</tool_call>", [] },
        { "missing name stays content", "<tool_call>{\"arguments\": {}}</tool_call>", "<tool_call>{\"arguments\": {}}</tool_call>", [] },
        { "not json whitespace before the object", "<tool_call>\u00a0{\"name\": \"f\", \"arguments\": {}}</tool_call>", "<tool_call>\u00a0{\"name\": \"f\", \"arguments\": {}}</tool_call>", [] },
        { "close tag inside the name ends the block", "<tool_call>{\"name\": \"a</tool_call>\", \"arguments\": {}}</tool_call>", "<tool_call>{\"name\": \"a</tool_call>\", \"arguments\": {}}</tool_call>", [] },
        { "close tag in a string of an undecided block ends it", "<tool_call>{\"arguments\": {\"t\": \"</tool_call>\"}, \"name\": \"f\"}</tool_call>", "<tool_call>{\"arguments\": {\"t\": \"</tool_call>\"}, \"name\": \"f\"}</tool_call>", [] },
        { "committed call: the rest of the block is dropped", "<tool_call>{\"name\": \"f\", \"arguments\": {\"a\": 1}, \"extra\": true} junk\n</tool_call>\nok", "ok", ["f|{\"a\": 1}"] },
        { "committed call: arguments as written even if not json", "<tool_call>{\"name\": \"f\", \"arguments\": {\"a\": oops}}</tool_call>", null, ["f|{\"a\": oops}"] },
        { "unclosed committed block (truncated)", "Sure.\n<tool_call>\n{\"name\": \"f\", \"arguments\": {\"q\": \"ab</tool_call>c", "Sure.", ["f|{\"q\": \"ab</tool_call>c"] },
        { "committed call without close tag", "<tool_call>\n{\"name\": \"f\", \"arguments\": {}}\n", null, ["f|{}"] },
        { "unclosed uncommitted block", "Sure <tool_call>\n{\"name\": \"f\", \"argu", "Sure <tool_call>\n{\"name\": \"f\", \"argu", [] },
        { "unclosed block, arguments first", "<tool_call>{\"arguments\": {}, \"name\": \"f\"}", "<tool_call>{\"arguments\": {}, \"name\": \"f\"}", [] },
        { "stray close", "a </tool_call> b", "a </tool_call> b", [] },
        { "partial tag at end", "x <tool_ca", "x <tool_ca", [] },
        { "false start of the tag", "x <tool_cal<tool_call>{\"name\": \"f\", \"arguments\": {}}</tool_call>", "x <tool_cal", ["f|{}"] },
        { "bad block then call", "a <tool_call>bad</tool_call> \n" + Call, "a <tool_call>bad</tool_call>", [Weather] },
        { "call then unclosed", Call + "\n<tool_call>{", "<tool_call>{", [Weather] },
        { "whitespace only", "  \n", "  \n", [] },
        { "empty", "", null, [] },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Parse_WholeAndStreamed_AgreeWithExpectation(string name, string text, string? content, string[] calls)
    {
        foreach (var (how, result) in AllWays(text, seed: name.Length))
        {
            Assert.True(content == result.Content, $"{name} ({how}): content {JsonSerializer.Serialize(result.Content)}");
            Assert.True(calls.SequenceEqual(result.ToolCalls.Select(c => $"{c.Name}|{c.Arguments}")), $"{name} ({how}): calls {JsonSerializer.Serialize(result.ToolCalls)}");
            Assert.Equal(Enumerable.Range(0, calls.Length).Select(i => $"call_{i}"), result.ToolCalls.Select(c => c.Id));
        }
    }

    [Fact]
    public void Push_CommittedCall_StreamsArgumentsAsTheyArrive()
    {
        var parser = new StreamingToolCallParser(Ids());
        Assert.Empty(parser.Push("<tool_call>\n{\"name\": \"f\", \"arguments\": ")); // not committed before the '{'
        // The Push that commits carries the header, then the first fragment.
        Assert.Equal(
            [new AssistantDelta(null, new ToolCallDelta(0, "call_0", "f", null)), new AssistantDelta(null, new ToolCallDelta(0, null, null, "{\"q\""))],
            parser.Push("{\"q\""));
        Assert.False(parser.HasToolCalls); // not complete yet
        Assert.Equal([new AssistantDelta(null, new ToolCallDelta(0, null, null, ": \"a}"))], parser.Push(": \"a}"));
        Assert.Equal([new AssistantDelta(null, new ToolCallDelta(0, null, null, "\"}"))], parser.Push("\"}}\n</tool"));
        Assert.True(parser.HasToolCalls);
        Assert.Empty(parser.Push("_call>\n"));
        Assert.Equal([new AssistantDelta("Done", null)], parser.Push("Done"));
    }

    [Theory]
    // text pushed one character at a time; after each prefix, how many call blocks a reader of the markup sees closed
    [InlineData("stray </tool_call> then <tool_call>\n{\"name\": \"f\", \"arguments\": {\"t\": \"</tool_call>\"}}\n</tool_call>", 1)]
    [InlineData("<tool_call>{\"arguments\": {}, \"name\": \"f\"}</tool_call><tool_call>{\"name\": \"g\"}</tool_call>", 2)]
    [InlineData("<tool_call>not json</tool_call>", 0)]
    [InlineData("<tool_call>\n{\"name\": \"f\", \"arguments\": {\"a\": 1}}\n</tool_ca", 0)]
    public void CallsClosed_CountsCallBlocksAtTheirOwnCloseTagOnly(string text, int closed)
    {
        var parser = new StreamingToolCallParser(Ids());
        var seen = new List<int>();
        foreach (var c in text)
        {
            parser.Push(c.ToString());
            seen.Add(parser.CallsClosed);
        }
        Assert.Equal(closed, parser.CallsClosed);
        // It grows only when a block's own close tag completes: the text read so far then ends with </tool_call>.
        for (var i = 1; i < seen.Count; i++)
        {
            if (seen[i] != seen[i - 1])
            {
                Assert.EndsWith("</tool_call>", text[..(i + 1)], StringComparison.Ordinal);
            }
        }
    }

    [Fact]
    public void Push_ContentBeforeCall_EmittedAtOnceExceptTrailingWhitespaceAndTagPrefix()
    {
        var parser = new StreamingToolCallParser(Ids());
        Assert.Equal([new AssistantDelta("Let me", null)], parser.Push("Let me"));
        Assert.Equal([new AssistantDelta(" check.", null)], parser.Push(" check.\n<tool"));
        Assert.Empty(parser.Push("_call>"));
        var deltas = parser.Push("\n{\"name\": \"f\", \"arguments\": {}}\n</tool_call>");
        Assert.Equal([new AssistantDelta(null, new ToolCallDelta(0, "call_0", "f", null)), new AssistantDelta(null, new ToolCallDelta(0, null, null, "{}"))], deltas);
        Assert.Empty(parser.Finish());
        Assert.Throws<InvalidOperationException>(() => parser.Push("x"));
    }

    [Fact]
    public void Stream_RandomCallsRenderedAsQwenWrites_AnySplitGivesTheWholeResultAndTheGeneratedArguments()
    {
        var random = new Random(1234);
        string[] contentPieces = ["Let me look.", "多个 🌅 calls", "a<b>c", "<tool_ca", "</tool_call>", " ", "\n", "\u00a0", "x", "{\"name\": \"f\"}"];
        for (var trial = 0; trial < 300; trial++)
        {
            var before = RandomText(random, contentPieces);
            var after = random.Next(3) == 0 ? RandomText(random, contentPieces) : "";
            var generated = new List<(string Name, JsonNode Arguments)>();
            var sb = new StringBuilder(before);
            for (var n = random.Next(0, 4); n > 0; n--)
            {
                var name = RandomName(random);
                var (arguments, argumentsText) = RandomObject(random, 0);
                sb.Append(random.Next(3) == 0 ? "" : "\n")
                    .Append("<tool_call>\n{\"name\": ").Append(PyString(name, ensureAscii: random.Next(4) == 0))
                    .Append(", \"arguments\": ").Append(argumentsText).Append("}\n</tool_call>");
                generated.Add((name, arguments));
                // The generator's own text must mean the generated object (checks the test's serializer).
                Assert.True(JsonNode.DeepEquals(arguments, JsonNode.Parse(argumentsText)), argumentsText);
            }
            sb.Append(generated.Count > 0 && after.Length > 0 ? "\n" : "").Append(after);
            var text = sb.ToString();
            Assert.DoesNotContain("<tool_call>", before + after, StringComparison.Ordinal);
            var content = generated.Count == 0 ? before + after : before.TrimEnd() + after.TrimStart();

            foreach (var (how, result) in AllWays(text, seed: trial))
            {
                Assert.True(result.Content == (content.Length == 0 ? null : content), $"trial {trial} ({how}): content {JsonSerializer.Serialize(result.Content)}");
                Assert.Equal(generated.Select(g => g.Name), result.ToolCalls.Select(c => c.Name));
                for (var i = 0; i < generated.Count; i++)
                {
                    Assert.True(JsonNode.DeepEquals(generated[i].Arguments, JsonNode.Parse(result.ToolCalls[i].Arguments)), $"trial {trial} ({how}): call {i} arguments {result.ToolCalls[i].Arguments}");
                }
            }
        }
    }

    [Fact]
    public void Stream_RandomMalformedText_AnySplitGivesTheWholeResult()
    {
        // Fragments of markup and JSON in random order: mostly malformed blocks, some calls, truncated anywhere.
        string[] pieces =
        [
            "<tool_call>", "</tool_call>", "<tool_", "call>", "\n", " ", "{", "}", "[", "]", "\"", "\\", ":", ",", "x", "é", "🦜",
            "{\"name\": \"f\", \"arguments\": ", "\"name\"", "\"arguments\"", ": \"g\"", "{\"name\": \"\"", "null", "\"{}\"", "</tool_call>\"",
        ];
        var random = new Random(99);
        for (var trial = 0; trial < 1000; trial++)
        {
            var text = RandomText(random, pieces, 30);
            var expected = ToolCallParser.Parse(text, Ids());
            foreach (var (how, result) in AllWays(text, seed: trial).Skip(1))
            {
                Assert.True(Same(expected, result), $"{JsonSerializer.Serialize(text)} ({how}): {JsonSerializer.Serialize(result)} vs whole {JsonSerializer.Serialize(expected)}");
            }
        }
    }

    [Theory]
    [InlineData("plain content \n")]
    [InlineData("<tool_call>{\"arguments\": {\"k\": \"")] // undecided block, held until its close tag
    [InlineData("<tool_call>{\"name\": \"f\", \"arguments\": {\"k\": \"")] // committed: streamed
    public void Push_ManySmallDeltas_AllocatesLinearlyNotQuadratically(string start)
    {
        const int Pushes = 20_000;
        var parser = new StreamingToolCallParser(Ids());
        parser.Push(start);
        for (var i = 0; i < 100; i++)
        {
            parser.Push("x"); // warm up (JIT)
        }
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < Pushes; i++)
        {
            parser.Push("x");
        }
        var perPush = (GC.GetAllocatedBytesForCurrentThread() - before) / Pushes;
        // A copy of the held text per push would average ~20 KB here; a delta's own objects are a few hundred bytes.
        Assert.True(perPush < 1024, $"{perPush} bytes per push");
    }

    [Fact]
    public void NewId_Default_CallPrefixAnd24AlphanumericsAllDistinct()
    {
        var ids = Enumerable.Range(0, 100).Select(_ => ToolCallParser.Parse("<tool_call>{\"name\": \"f\"}</tool_call>").ToolCalls[0].Id).ToList();
        Assert.All(ids, id => Assert.Matches("^call_[A-Za-z0-9]{24}$", id));
        Assert.Equal(ids.Count, ids.Distinct().Count());
    }

    /// <summary>The whole-text result, then streamed results: one delta, char by char, three seeded random chunkings.</summary>
    internal static IEnumerable<(string How, ParsedAssistantMessage Result)> AllWays(string text, int seed, ToolCallParserOptions? options = null)
    {
        yield return ("whole", ToolCallParser.Parse(text, Ids(), options));
        yield return ("one delta", Stream(text, [text.Length], options));
        yield return ("char by char", Stream(text, [.. Enumerable.Repeat(1, text.Length)], options));
        var random = new Random(seed);
        for (var i = 0; i < 3; i++)
        {
            yield return ($"random chunks {i}", Stream(text, RandomSplits(text.Length, random), options));
        }
    }

    /// <summary>Streams <paramref name="text"/> in the given chunk sizes, checks each delta's OpenAI shape, accumulates as a client does.</summary>
    private static ParsedAssistantMessage Stream(string text, int[] splits, ToolCallParserOptions? options)
    {
        var parser = new StreamingToolCallParser(Ids(), options);
        var deltas = new List<AssistantDelta>();
        var pos = 0;
        foreach (var n in splits)
        {
            deltas.AddRange(parser.Push(text.Substring(pos, Math.Min(n, text.Length - pos))));
            pos += n;
        }
        deltas.AddRange(parser.Finish());
        var content = new StringBuilder();
        var calls = new List<(string Id, string Name, StringBuilder Args)>();
        foreach (var d in deltas)
        {
            Assert.True(d.Content is null != d.ToolCall is null, "a delta is content or a tool-call piece, never both or neither");
            if (d.Content is { } c)
            {
                Assert.NotEmpty(c);
                content.Append(c);
            }
            else if (d.ToolCall!.Id is not null)
            {
                // First delta of a call: the next index, with id and name, no arguments.
                Assert.Equal(calls.Count, d.ToolCall.Index);
                Assert.False(string.IsNullOrEmpty(d.ToolCall.Name));
                Assert.Null(d.ToolCall.Arguments);
                calls.Add((d.ToolCall.Id, d.ToolCall.Name!, new StringBuilder()));
            }
            else
            {
                // Later deltas: the latest call only, a non-empty fragment and nothing else.
                Assert.Equal(calls.Count - 1, d.ToolCall.Index);
                Assert.Null(d.ToolCall.Name);
                Assert.False(string.IsNullOrEmpty(d.ToolCall.Arguments));
                calls[^1].Args.Append(d.ToolCall.Arguments);
            }
        }
        Assert.Equal(calls.Count > 0, parser.HasToolCalls);
        return new ParsedAssistantMessage(content.Length == 0 ? null : content.ToString(), calls.Select(c => new ToolCall(c.Id, c.Name, c.Args.ToString())).ToList());
    }

    private static bool Same(ParsedAssistantMessage x, ParsedAssistantMessage y) => x.Content == y.Content && x.ToolCalls.SequenceEqual(y.ToolCalls);

    private static string RandomText(Random random, string[] pieces, int max = 4)
    {
        var sb = new StringBuilder();
        for (var n = random.Next(0, max + 1); n > 0; n--)
        {
            sb.Append(pieces[random.Next(pieces.Length)]);
        }
        return sb.ToString();
    }

    private static string RandomName(Random random)
    {
        string[] unicode = ["翻译", "météo", "données_🦜"];
        if (random.Next(5) == 0)
        {
            return unicode[random.Next(unicode.Length)];
        }
        const string Chars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.";
        return new string([.. Enumerable.Range(0, random.Next(1, 13)).Select(_ => Chars[random.Next(Chars.Length)])]);
    }

    /// <summary>A random JSON object and its text as Python's json.dumps writes it (", " and ": ", ensure_ascii on or off per string).</summary>
    private static (JsonObject Node, string Text) RandomObject(Random random, int depth)
    {
        var node = new JsonObject();
        var parts = new List<string>();
        for (var n = random.Next(0, depth == 0 ? 5 : 4); n > 0; n--)
        {
            var key = RandomString(random, 3);
            if (node.ContainsKey(key))
            {
                continue;
            }
            var (value, text) = RandomValue(random, depth + 1);
            node[key] = value;
            parts.Add(PyString(key, random.Next(3) == 0) + ": " + text);
        }
        return (node, "{" + string.Join(", ", parts) + "}");
    }

    private static (JsonNode? Node, string Text) RandomValue(Random random, int depth)
    {
        string[] numbers = ["0", "7", "-42", "3.25", "-0.5", "1e-05", "6.02e+23", "12345678901234567890"];
        switch (random.Next(depth >= 3 ? 5 : 7))
        {
            case 0:
            case 1:
                var s = RandomString(random, 6);
                return (JsonValue.Create(s), PyString(s, random.Next(3) == 0));
            case 2:
                var number = numbers[random.Next(numbers.Length)];
                return (JsonNode.Parse(number), number);
            case 3:
                var b = random.Next(2) == 0;
                return (JsonValue.Create(b), b ? "true" : "false");
            case 4:
                return (null, "null");
            case 5:
                return RandomObject(random, depth);
            default:
                var array = new JsonArray();
                var items = new List<string>();
                for (var n = random.Next(0, 4); n > 0; n--)
                {
                    var (item, text) = RandomValue(random, depth + 1);
                    array.Add(item);
                    items.Add(text);
                }
                return (array, "[" + string.Join(", ", items) + "]");
        }
    }

    private static string RandomString(Random random, int maxPieces)
    {
        string[] pieces = ["a", "Z", "9", " ", "é", "ü", "東京", "🦜", "😀", "\"", "\\", "\n", "\t", "\u0001", "/", "</tool_call>", "<tool_call>", "{", "}", "[", "]", ":", ",", "'", "\u2028"];
        var sb = new StringBuilder();
        for (var n = random.Next(0, maxPieces + 1); n > 0; n--)
        {
            sb.Append(pieces[random.Next(pieces.Length)]);
        }
        return sb.ToString();
    }

    /// <summary>A JSON string literal as Python's json.dumps writes it; with ensure_ascii, everything outside ' '..'~' as \uXXXX (UTF-16 units, lowercase).</summary>
    private static string PyString(string s, bool ensureAscii)
    {
        var sb = new StringBuilder("\"");
        foreach (var c in s)
        {
            sb.Append(c switch
            {
                '"' => "\\\"",
                '\\' => "\\\\",
                '\n' => "\\n",
                '\r' => "\\r",
                '\t' => "\\t",
                '\b' => "\\b",
                '\f' => "\\f",
                < ' ' => "\\u" + ((int)c).ToString("x4", CultureInfo.InvariantCulture),
                > '~' when ensureAscii => "\\u" + ((int)c).ToString("x4", CultureInfo.InvariantCulture),
                _ => c.ToString(),
            });
        }
        return sb.Append('"').ToString();
    }

    private static int[] RandomSplits(int length, Random random)
    {
        var list = new List<int>();
        for (var total = 0; total < length;)
        {
            var n = random.Next(1, 8);
            list.Add(n);
            total += n;
        }
        return [.. list];
    }

    private static Func<string> Ids()
    {
        var n = 0;
        return () => $"call_{n++}";
    }
}
