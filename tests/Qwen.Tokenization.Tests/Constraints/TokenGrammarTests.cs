using System.Diagnostics;
using System.Text.Json;
using Qwen.Tokenization.Constraints;
using Qwen.Tokenization.Constraints.Schema;
using Qwen.Tokenization.ToolCalls;
using Xunit.Abstractions;

namespace Qwen.Tokenization.Tests.Constraints;

/// <summary>The grammars with the real Qwen2.5 vocabulary; outputs checked with System.Text.Json and by hand-written block splitting.</summary>
public sealed class TokenGrammarTests(ITestOutputHelper output)
{
    private const string Function = "get_weather";
    private static readonly string[] Names = ["get_weather", "get", "get_time", "say \"hi\"", "naïve_名前", "a\\b"];
    private static readonly ToolGrammar[] Tools = [.. Names.Select(n => new ToolGrammar(n, CompiledJsonSchema.AnyObject))];

    public static TheoryData<string> GrammarKinds => new() { "json", "named", "required", "parallel" };

    [Theory]
    [MemberData(nameof(GrammarKinds))]
    public void Grammar_RandomModel_OutputIsWellFormed(string kind)
    {
        var callCounts = new List<int>();
        for (var seed = 0; seed < 16; seed++)
        {
            var ids = GrammarDriver.Run(Create(kind), GrammarDriver.Random(seed), policySteps: 60);
            callCounts.Add(Validate(kind, ids));
        }
        if (kind == "parallel")
        {
            Assert.Contains(callCounts, c => c > 1); // the random model did take the loop
        }
    }

    [Theory]
    [MemberData(nameof(GrammarKinds))]
    public void Grammar_ClosingPolicyFromTheStart_StopsWithinTheBound(string kind)
    {
        var ids = GrammarDriver.Run(Create(kind), GrammarDriver.Closing, policySteps: 0, closingBound: 80);
        Validate(kind, ids);
    }

    [Theory]
    [MemberData(nameof(GrammarKinds))]
    public void Grammar_LowestIdForeverThenClosing_NeverDeadEndsAndEndsWellFormed(string kind)
    {
        // The lowest allowed id writes '!' into a string forever: the grammar cannot bound a string, max_tokens does.
        var ids = GrammarDriver.Run(Create(kind), GrammarDriver.Lowest, policySteps: 1500);
        Assert.True(ids.Count > 1500);
        Validate(kind, ids);
    }

    [Theory]
    [MemberData(nameof(GrammarKinds))]
    public void Grammar_LongestTokenThenClosing_NeverDeadEndsAndEndsWellFormed(string kind)
    {
        var ids = GrammarDriver.Run(Create(kind), GrammarDriver.Longest, policySteps: 80);
        Validate(kind, ids);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void RequiredToolCall_CallsEncodedByTheTokenizer_EveryTokenAllowed(bool parallel)
    {
        var call = "{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\", \"days\": [1, 2.5e3], \"ok\": true, \"q\": \"名前 😀\"}}\n</tool_call>";
        var text = parallel ? call + "\n<tool_call>\n" + call.Replace("get_weather", "say \\\"hi\\\"", StringComparison.Ordinal) : call;
        var ids = GrammarDriver.Tokenizer.Encode(text);
        Assert.Contains(GrammarDriver.Tokenizer.GetTokenId("</tool_call>")!.Value, ids); // the added token, as the model writes it
        var grammar = TokenGrammar.RequiredToolCall(GrammarDriver.Tokens, Tools, parallel, GrammarDriver.StopIds);
        for (var i = 0; i < ids.Length; i++)
        {
            // A stop is allowed exactly where a call has just been closed.
            var closed = GrammarDriver.Tokenizer.Decode(ids.AsSpan(0, i)).EndsWith("</tool_call>", StringComparison.Ordinal);
            Assert.Equal(closed, grammar.IsAllowed(GrammarDriver.ImEnd));
            Assert.True(grammar.IsAllowed(ids[i]), $"token {ids[i]} ({GrammarDriver.Tokenizer.Decode([ids[i]])}) refused");
            grammar.Accept(ids[i]);
        }
        Assert.True(grammar.IsComplete);
        Assert.True(grammar.IsAllowed(GrammarDriver.ImEnd));
        Assert.Equal(parallel, grammar.IsAllowed(GrammarDriver.ByteToken((byte)'\n')));
    }

    [Fact]
    public void NamedToolCall_CloseTagSpelledWithOrdinarySubTokens_Allowed()
    {
        var tokenizer = GrammarDriver.Tokenizer;
        var ids = tokenizer.Encode("{\"x\": {}}}\n</tool").Concat(tokenizer.Encode("_call>")).ToArray();
        Assert.DoesNotContain(tokenizer.GetTokenId("</tool_call>")!.Value, ids);
        var grammar = TokenGrammar.NamedToolCall(GrammarDriver.Tokens, CompiledJsonSchema.AnyObject, GrammarDriver.StopIds);
        foreach (var id in ids)
        {
            Assert.True(grammar.IsAllowed(id), $"token {id} ({tokenizer.Decode([id])}) refused");
            grammar.Accept(id);
        }
        Assert.True(grammar.IsComplete);
    }

    [Fact]
    public void RequiredToolCall_NameOutsideTheSet_RefusedAtTheFirstByteNoNameHas()
    {
        var grammar = TokenGrammar.RequiredToolCall(GrammarDriver.Tokens, Tools, parallel: false, GrammarDriver.StopIds);
        Assert.Equal(-1, GrammarDriver.FeedBytes(grammar, "{\"name\": \"get"));
        Assert.True(grammar.IsAllowed(GrammarDriver.ByteToken((byte)'"'))); // "get" is a name
        Assert.True(grammar.IsAllowed(GrammarDriver.ByteToken((byte)'_')));
        Assert.False(grammar.IsAllowed(GrammarDriver.ByteToken((byte)'x')));
        Assert.Equal(-1, GrammarDriver.FeedBytes(grammar, "_"));
        Assert.False(grammar.IsAllowed(GrammarDriver.ByteToken((byte)'"'))); // "get_" is not
        Assert.Equal(3, GrammarDriver.FeedBytes(grammar, "timX"));
    }

    [Theory]
    [InlineData("say \"hi\"", "say \\\"hi\\\"")]
    [InlineData("naïve_名前", "naïve_名前")]
    [InlineData("a\\b", "a\\\\b")]
    public void RequiredToolCall_NameNeedingEscapes_WrittenAsTojsonWritesItAndParsedBack(string name, string written)
    {
        var grammar = TokenGrammar.RequiredToolCall(GrammarDriver.Tokens, Tools, parallel: false, GrammarDriver.StopIds);
        var text = "{\"name\": \"" + written + "\", \"arguments\": {}}\n</tool_call>";
        Assert.Equal(-1, GrammarDriver.FeedBytes(grammar, text));
        Assert.True(grammar.IsComplete);
        var parsed = ToolCallParser.Parse(TokenGrammar.RequiredToolCallOpening + text);
        Assert.Equal(name, Assert.Single(parsed.ToolCalls).Name);
    }

    [Fact]
    public void NamedToolCall_CloseTagInsideAnArgumentString_RefusedButEscapedSlashAllowed()
    {
        var closeTag = GrammarDriver.Tokenizer.GetTokenId("</tool_call>")!.Value;
        var grammar = TokenGrammar.NamedToolCall(GrammarDriver.Tokens, CompiledJsonSchema.AnyObject, GrammarDriver.StopIds);
        Assert.Equal(-1, GrammarDriver.FeedBytes(grammar, "{\"a\": \"x"));
        Assert.False(grammar.IsAllowed(closeTag)); // would end the block inside the arguments
        Assert.Equal(11, GrammarDriver.FeedBytes(grammar, "</tool_call>"));
        Assert.Equal(-1, GrammarDriver.FeedBytes(grammar, "<\\/tool_call><tool_call> <</tool_call"));
        Assert.Equal(-1, GrammarDriver.FeedBytes(grammar, "\"}"));
        Assert.True(grammar.IsAllowed(closeTag) == false && grammar.IsAllowed(GrammarDriver.ByteToken((byte)'}')));
        Assert.Equal(-1, GrammarDriver.FeedBytes(grammar, "}\n"));
        Assert.True(grammar.IsAllowed(closeTag)); // the real close tag, after the arguments
        grammar.Accept(closeTag);
        Assert.True(grammar.IsComplete);
    }

    [Fact]
    public void NamedToolCall_ToyVocabularyWithPiecesOfTheCloseTag_RefusedExactlyWhereTheyWouldCompleteIt()
    {
        // Qwen's vocabulary has no token such as "_call>"; a toy one does, to reach the string fast path's guard check.
        string[] pieces = ["_call>", "_call", "tool_call>", "/tool_call>", "_call>x", "x_call>"];
        var vocabulary = Enumerable.Range(0, 256).Select(b => new[] { (byte)b }).Concat(pieces.Select(p => System.Text.Encoding.UTF8.GetBytes(p)))
            .Append("<|im_end|>"u8.ToArray()).ToArray();
        var stop = vocabulary.Length - 1;
        var tokens = new TokenBytes(vocabulary, [stop]);
        int Piece(string p) => 256 + Array.IndexOf(pieces, p);
        var grammar = TokenGrammar.NamedToolCall(tokens, CompiledJsonSchema.AnyObject, [stop]);
        foreach (var b in "{\"a\": \"</tool"u8)
        {
            grammar.Accept(b);
        }
        Assert.False(grammar.IsAllowed(Piece("_call>")));
        Assert.False(grammar.IsAllowed(Piece("_call>x")));
        Assert.True(grammar.IsAllowed(Piece("_call")));
        Assert.True(grammar.IsAllowed(Piece("x_call>")));
        Assert.True(grammar.IsAllowed(Piece("tool_call>"))); // "</tooltool_call>" closes nothing
        grammar.Accept(Piece("_call"));
        Assert.False(grammar.IsAllowed('>'));
        grammar.Accept('x');
        grammar.Accept('<');
        Assert.False(grammar.IsAllowed(Piece("/tool_call>")));
        Assert.True(grammar.IsAllowed(Piece("tool_call>")));
        grammar.Accept('"');
        grammar.Accept('}');
        grammar.Accept('}');
        grammar.Accept('\n');
        Assert.False(grammar.IsAllowed(Piece("tool_call>")));
        grammar.Accept('<');
        grammar.Accept(Piece("/tool_call>"));
        Assert.True(grammar.IsAllowed(stop));
    }

    [Fact]
    public void JsonObject_CloseTagInsideAString_Allowed()
    {
        var grammar = TokenGrammar.JsonSchema(GrammarDriver.Tokens, CompiledJsonSchema.AnyObject, GrammarDriver.StopIds);
        Assert.Equal(-1, GrammarDriver.FeedBytes(grammar, "{\"a\": \"</tool_call>\"}"));
        Assert.True(grammar.IsComplete);
    }

    [Fact]
    public void JsonObject_StopIds_AllowedOnlyOnceTheObjectIsComplete()
    {
        var imStart = GrammarDriver.Tokenizer.GetTokenId("<|im_start|>")!.Value;
        var grammar = TokenGrammar.JsonSchema(GrammarDriver.Tokens, CompiledJsonSchema.AnyObject, GrammarDriver.StopIds);
        Assert.False(grammar.IsAllowed(GrammarDriver.ImEnd));
        Assert.Equal(0, GrammarDriver.FeedBytes(grammar, " {")); // no whitespace before the root value
        Assert.Equal(-1, GrammarDriver.FeedBytes(grammar, "{\"a\": [1"));
        Assert.False(grammar.IsAllowed(GrammarDriver.ImEnd));
        Assert.False(grammar.IsComplete);
        Assert.Equal(-1, GrammarDriver.FeedBytes(grammar, "]}"));
        Assert.True(grammar.IsAllowed(GrammarDriver.ImEnd) && grammar.IsAllowed(GrammarDriver.EndOfText));
        Assert.False(grammar.IsAllowed(imStart)); // special, not a stop id
        Assert.Equal(0, GrammarDriver.FeedBytes(grammar, "\n}")); // nor after it
        Assert.True(grammar.IsAllowed(GrammarDriver.ImEnd));
        grammar.Accept(GrammarDriver.ImEnd);
        Assert.True(grammar.IsComplete);
        Assert.Empty(GrammarDriver.AllowedIds(grammar));
        Assert.Throws<InvalidOperationException>(() => grammar.Accept(GrammarDriver.ImEnd));
    }

    [Fact]
    public void NamedToolCall_StopBeforeTheCloseTag_RefusedAndNoSecondCall()
    {
        var grammar = TokenGrammar.NamedToolCall(GrammarDriver.Tokens, CompiledJsonSchema.AnyObject, GrammarDriver.StopIds);
        Assert.Equal(-1, GrammarDriver.FeedBytes(grammar, "{}"));
        Assert.False(grammar.IsAllowed(GrammarDriver.ImEnd));
        Assert.Equal(-1, GrammarDriver.FeedBytes(grammar, "}\n</tool_call"));
        Assert.False(grammar.IsAllowed(GrammarDriver.ImEnd));
        Assert.Equal(1, GrammarDriver.FeedBytes(grammar, ">\n"));
        Assert.True(grammar.IsAllowed(GrammarDriver.ImEnd));
    }

    [Fact]
    public void RequiredToolCall_Parallel_SecondCallAfterTheSeparatorAndStopOnlyBetweenCalls()
    {
        var openTag = GrammarDriver.Tokenizer.GetTokenId("<tool_call>")!.Value;
        var grammar = TokenGrammar.RequiredToolCall(GrammarDriver.Tokens, Tools, parallel: true, GrammarDriver.StopIds);
        Assert.Equal(-1, GrammarDriver.FeedBytes(grammar, "{\"name\": \"get\", \"arguments\": {}}\n</tool_call>\n"));
        Assert.False(grammar.IsAllowed(GrammarDriver.ImEnd));
        Assert.True(grammar.IsAllowed(openTag));
        grammar.Accept(openTag);
        Assert.Equal(-1, GrammarDriver.FeedBytes(grammar, "\n{\"name\": \"get_time\", \"arguments\": {\"tz\": \"UTC\"}}\n</tool_call>"));
        Assert.True(grammar.IsAllowed(GrammarDriver.ImEnd));
    }

    [Fact]
    public void Grammar_IdsOutsideTheTokenizerOrRefused_NotAllowedAndAcceptThrows()
    {
        var grammar = TokenGrammar.JsonSchema(GrammarDriver.Tokens, CompiledJsonSchema.AnyObject, GrammarDriver.StopIds);
        Assert.False(grammar.IsAllowed(-1));
        Assert.All(Enumerable.Range(GrammarDriver.Tokens.Count, GrammarDriver.VocabularySize - GrammarDriver.Tokens.Count), id => Assert.False(grammar.IsAllowed(id)));
        Assert.Throws<InvalidOperationException>(() => grammar.Accept(GrammarDriver.ByteToken((byte)'[')));
        Assert.True(grammar.IsAllowed(GrammarDriver.ByteToken((byte)'{'))); // the refused Accept changed nothing
    }

    [Fact]
    public void Factories_NoNamesOrNoStopIds_Throw()
    {
        Assert.Throws<ArgumentException>(() => TokenGrammar.RequiredToolCall(GrammarDriver.Tokens, Array.Empty<ToolGrammar>(), parallel: false, GrammarDriver.StopIds));
        Assert.Throws<ArgumentException>(() => TokenGrammar.JsonSchema(GrammarDriver.Tokens, CompiledJsonSchema.AnyObject, []));
        Assert.Throws<ArgumentOutOfRangeException>(() => TokenGrammar.NamedToolCall(GrammarDriver.Tokens, CompiledJsonSchema.AnyObject, [GrammarDriver.VocabularySize]));
    }

    [Fact]
    public void NamedToolCallOpening_Name_IsTheTemplatesCallPrefix()
        => Assert.Equal("<tool_call>\n{\"name\": \"say \\\"hi\\\"\", \"arguments\": ", TokenGrammar.NamedToolCallOpening("say \"hi\""));

    [Fact]
    public void JsonObject_FullScanAlongRandomRuns_EqualsTheSchemaWalkFedTheTextSoFar()
    {
        // Checks the fast paths (first-byte table, plain string content) against the plain byte walk; prints their cost.
        var tokens = GrammarDriver.Tokens;
        var inString = new List<double>();
        var elsewhere = new List<double>();
        for (var seed = 0; seed < 3; seed++)
        {
            var grammar = TokenGrammar.JsonSchema(tokens, CompiledJsonSchema.AnyObject, GrammarDriver.StopIds);
            var walk = CompiledJsonSchema.AnyObject.NewWalk(); // the plain byte walk, without the grammar's fast paths
            var reference = walk.Start;
            var policy = GrammarDriver.Random(100 + seed);
            for (var step = 0; step < 40; step++)
            {
                var stopwatch = Stopwatch.StartNew();
                var mask = new bool[GrammarDriver.VocabularySize];
                for (var id = 0; id < mask.Length; id++)
                {
                    mask[id] = grammar.IsAllowed(id);
                }
                var elapsed = stopwatch.Elapsed.TotalMilliseconds;
                (walk.IsFreeStringBody(reference) ? inString : elsewhere).Add(elapsed);
                for (var id = 0; id < mask.Length; id++)
                {
                    var expected = GrammarDriver.StopIds.Contains(id)
                        ? walk.IsAccepting(reference)
                        : id < tokens.Count && !tokens.IsSpecial(id) && tokens[id].Length > 0 && Walk(walk, reference, tokens[id]) >= 0;
                    Assert.True(expected == mask[id], $"token {id} ({JsonSerializer.Serialize(GrammarDriver.Tokenizer.Decode([id]))}) after step {step}: expected {expected}");
                }
                var next = step < 30 ? policy(grammar) : GrammarDriver.Closing(grammar);
                if (GrammarDriver.StopIds.Contains(next))
                {
                    break;
                }
                grammar.Accept(next);
                reference = Walk(walk, reference, tokens[next]);
                Assert.True(reference >= 0);
            }
        }
        Assert.NotEmpty(inString);
        output.WriteLine($"IsAllowed over {GrammarDriver.VocabularySize} ids (a loaded test run: read the minimum): in a string body min {inString.Min():F2} / median {Median(inString):F2} ms (n={inString.Count}), elsewhere min {elsewhere.Min():F2} / median {Median(elsewhere):F2} ms (n={elsewhere.Count})");
    }

    [Theory]
    [InlineData("")]
    [InlineData("{")]
    [InlineData("{\"a\": \"x")]
    [InlineData("{\"a\": \"x<")]
    [InlineData("{\"a\": \"x</tool")]
    [InlineData("{\"a\": \"x</tool_call")]
    [InlineData("{\"a\": \"x</tool_call\"")]
    [InlineData("{\"a\": \"\\")]
    [InlineData("{\"a\": \"\\u00")]
    [InlineData("{\"a\": \"\\u00e9 \\u4e2")]
    [InlineData("{\"a\": 1")]
    [InlineData("{\"a\": [{}")]
    [InlineData("{\"a\": {}}")]
    [InlineData("{\"a\": {}\n")]
    public void NamedToolCall_FullScan_EqualsNaiveReferenceThatTriesEverySplit(string arguments)
    {
        // Reference: the text is arguments A (a prefix of the AnyObject walk never containing "</tool_call>") followed by a prefix
        // of "}\n</tool_call>" once A is complete; a token is allowed if any split of its bytes fits.
        var tokens = GrammarDriver.Tokens;
        var grammar = TokenGrammar.NamedToolCall(tokens, CompiledJsonSchema.AnyObject, GrammarDriver.StopIds);
        Assert.Equal(-1, GrammarDriver.FeedBytes(grammar, arguments));
        var argumentBytes = System.Text.Encoding.UTF8.GetBytes(arguments);
        var walk = CompiledJsonSchema.AnyObject.NewWalk();
        var reference = Walk(walk, walk.Start, argumentBytes);
        Assert.True(reference >= 0);
        var close = "</tool_call>"u8.ToArray();
        var literal = "}\n</tool_call>"u8.ToArray();
        var mismatches = new List<string>();
        for (var id = 0; id < GrammarDriver.VocabularySize; id++)
        {
            var bytes = tokens[id];
            var expected = false;
            for (var k = 0; k <= bytes.Length && !expected && bytes.Length > 0 && !tokens.IsSpecial(id); k++)
            {
                var state = Walk(walk, reference, bytes[..k]);
                var args = argumentBytes.Concat(bytes[..k].ToArray()).ToArray();
                expected = state >= 0 && args.AsSpan().IndexOf(close) < 0
                    && (k == bytes.Length || (walk.IsAccepting(state) && literal.AsSpan().StartsWith(bytes[k..])));
            }
            if (expected != grammar.IsAllowed(id))
            {
                mismatches.Add($"{id} {JsonSerializer.Serialize(GrammarDriver.Tokenizer.Decode([id]))}: expected {expected}");
            }
        }
        Assert.True(mismatches.Count == 0, $"{mismatches.Count} mismatches: {string.Join("; ", mismatches.Take(10))}");
    }

    /// <summary>The schema walk's state after <paramref name="bytes"/> from <paramref name="state"/>, or -1 when a byte is refused.</summary>
    private static int Walk(SchemaDfa walk, int state, ReadOnlySpan<byte> bytes)
    {
        foreach (var b in bytes)
        {
            if (state < 0)
            {
                return -1;
            }
            state = walk.Next(state, b);
        }
        return state < 0 ? -1 : state;
    }

    private static double Median(List<double> values) => values.Count == 0 ? double.NaN : values.Order().ElementAt(values.Count / 2);

    private static TokenGrammar Create(string kind) => kind switch
    {
        "json" => TokenGrammar.JsonSchema(GrammarDriver.Tokens, CompiledJsonSchema.AnyObject, GrammarDriver.StopIds),
        "named" => TokenGrammar.NamedToolCall(GrammarDriver.Tokens, CompiledJsonSchema.AnyObject, GrammarDriver.StopIds),
        _ => TokenGrammar.RequiredToolCall(GrammarDriver.Tokens, Tools, parallel: kind == "parallel", GrammarDriver.StopIds),
    };

    /// <summary>Checks the output with System.Text.Json and hand splitting (plus the project's tool-call parser); returns the number of calls.</summary>
    private static int Validate(string kind, List<int> ids)
    {
        Assert.Contains(ids[^1], GrammarDriver.StopIds);
        var generated = GrammarDriver.Tokenizer.Decode(ids.ToArray().AsSpan(0, ids.Count - 1));
        if (kind == "json")
        {
            using var doc = JsonDocument.Parse(generated);
            Assert.Equal(JsonValueKind.Object, doc.RootElement.ValueKind);
            JsonReference.ReadAllStrings(doc.RootElement);
            return 0;
        }
        var text = kind == "named" ? TokenGrammar.NamedToolCallOpening(Function) + generated : TokenGrammar.RequiredToolCallOpening + generated;
        var names = new List<string>();
        var rest = text;
        while (true)
        {
            Assert.StartsWith("<tool_call>\n", rest, StringComparison.Ordinal);
            var close = rest.IndexOf("</tool_call>", StringComparison.Ordinal);
            Assert.True(close > 0, text);
            var body = rest["<tool_call>\n".Length..close];
            Assert.EndsWith("}\n", body, StringComparison.Ordinal);
            using (var doc = JsonDocument.Parse(body))
            {
                var root = doc.RootElement;
                Assert.Equal(["name", "arguments"], root.EnumerateObject().Select(p => p.Name));
                var name = root.GetProperty("name").GetString()!;
                Assert.Contains(name, kind == "named" ? [Function] : Names);
                Assert.Equal(JsonValueKind.Object, root.GetProperty("arguments").ValueKind);
                JsonReference.ReadAllStrings(root);
                names.Add(name);
            }
            rest = rest[(close + "</tool_call>".Length)..];
            if (rest.Length == 0)
            {
                break;
            }
            Assert.True(kind == "parallel", $"text after the call: {text}");
            Assert.StartsWith("\n<tool_call>\n", rest, StringComparison.Ordinal);
            rest = rest[1..];
        }
        var parsed = ToolCallParser.Parse(text);
        Assert.Null(parsed.Content);
        Assert.Equal(names, parsed.ToolCalls.Select(c => c.Name));
        return names.Count;
    }
}
