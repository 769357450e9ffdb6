using System.Text.Json.Nodes;
using Json.Schema;
using Qwen.Tokenization.Constraints;
using Qwen.Tokenization.ToolCalls;

namespace Qwen.Tokenization.Tests.Constraints;

/// <summary>The tool-call grammars with a schema per function, over the real vocabulary; calls read back with the tool-call parser and validated with JsonSchema.Net.</summary>
public sealed class ToolGrammarTests
{
    private const string WeatherSchema = """{"type": "object", "properties": {"city": {"type": "string", "maxLength": 20}, "days": {"type": "integer", "minimum": 1, "maximum": 7}}, "required": ["city"]}""";
    private const string AddSchema = """{"type": "object", "properties": {"a": {"type": "number"}, "b": {"type": "number"}}, "required": ["a", "b"], "additionalProperties": false}""";
    private const string NoteSchema = """{"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]}""";

    private static readonly Dictionary<string, string> Schemas = new() { ["get_weather"] = WeatherSchema, ["add"] = AddSchema, ["note"] = NoteSchema };

    private static ToolGrammar[] Functions => [.. Schemas.Select(kv => new ToolGrammar(kv.Key, SchemaGrammars.Compile(kv.Value)))];

    [Fact]
    public void RequiredToolCall_TwoFunctions_ArgumentsFollowTheNamedFunctionsSchema()
    {
        var grammar = TokenGrammar.RequiredToolCall(GrammarDriver.Tokens, Functions, parallel: false, GrammarDriver.StopIds);
        Assert.Equal(-1, GrammarDriver.FeedBytes(grammar, "{\"name\": \"add\", \"arguments\": {\"a\": 1, \"b\": 2}}\n</tool_call>"));
        Assert.True(grammar.IsComplete);

        grammar = TokenGrammar.RequiredToolCall(GrammarDriver.Tokens, Functions, parallel: false, GrammarDriver.StopIds);
        Assert.Equal(31, GrammarDriver.FeedBytes(grammar, "{\"name\": \"add\", \"arguments\": {\"city\": \"Paris\"}}"));
        grammar = TokenGrammar.RequiredToolCall(GrammarDriver.Tokens, Functions, parallel: false, GrammarDriver.StopIds);
        Assert.Equal(39, GrammarDriver.FeedBytes(grammar, "{\"name\": \"get_weather\", \"arguments\": {\"a\": 1}}"));
        grammar = TokenGrammar.RequiredToolCall(GrammarDriver.Tokens, Functions, parallel: false, GrammarDriver.StopIds);
        Assert.Equal(-1, GrammarDriver.FeedBytes(grammar, "{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\", \"days\": "));
        Assert.False(grammar.IsAllowed(GrammarDriver.ByteToken((byte)'8')));
        Assert.True(grammar.IsAllowed(GrammarDriver.ByteToken((byte)'7')));
    }

    [Theory]
    [InlineData("get", "{\"a\": 1}", "{\"city\"")]
    [InlineData("get_weather", "{\"city\": \"x\"}", "{\"a\"")]
    [InlineData("say \\\"hi\\\"", "{\"city\": \"x\"}", "{\"a\"")]
    public void RequiredToolCall_NamesThatArePrefixesOrEscaped_EachGetsItsOwnSchema(string written, string valid, string invalid)
    {
        ToolGrammar[] functions =
        [
            new("get_weather", SchemaGrammars.Compile(WeatherSchema)),
            new("get", SchemaGrammars.Compile("""{"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]}""")),
            new("say \"hi\"", SchemaGrammars.Compile(WeatherSchema)),
        ];
        var head = "{\"name\": \"" + written + "\", \"arguments\": ";
        var grammar = TokenGrammar.RequiredToolCall(GrammarDriver.Tokens, functions, parallel: false, GrammarDriver.StopIds);
        Assert.Equal(-1, GrammarDriver.FeedBytes(grammar, head + valid + "}\n</tool_call>"));
        Assert.True(grammar.IsComplete);
        grammar = TokenGrammar.RequiredToolCall(GrammarDriver.Tokens, functions, parallel: false, GrammarDriver.StopIds);
        Assert.Equal(head.Length + 2, GrammarDriver.FeedBytes(grammar, head + invalid));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void RequiredToolCall_RandomModel_EveryCallValidatesAgainstItsFunction(bool parallel)
    {
        var calls = 0;
        for (var seed = 0; seed < 12; seed++)
        {
            var grammar = TokenGrammar.RequiredToolCall(GrammarDriver.Tokens, Functions, parallel, GrammarDriver.StopIds);
            var ids = GrammarDriver.Run(grammar, GrammarDriver.Random(seed), policySteps: 80);
            calls += ValidateCalls(TokenGrammar.RequiredToolCallOpening + Decode(ids), expectText: false);
        }
        Assert.True(calls >= 12);
    }

    [Fact]
    public void NamedToolCall_Schema_ArgumentsFollowIt()
    {
        var grammar = TokenGrammar.NamedToolCall(GrammarDriver.Tokens, SchemaGrammars.Compile(AddSchema), GrammarDriver.StopIds);
        Assert.Equal(2, GrammarDriver.FeedBytes(grammar, "{\"b\""));
        grammar = TokenGrammar.NamedToolCall(GrammarDriver.Tokens, SchemaGrammars.Compile(AddSchema), GrammarDriver.StopIds);
        Assert.Equal(-1, GrammarDriver.FeedBytes(grammar, "{\"a\": 1, \"b\": -2.5}}\n</tool_call>"));
        Assert.True(grammar.IsAllowed(GrammarDriver.ImEnd));
    }

    [Fact]
    public void AutoToolCalls_FreeTextThenACall_StopAllowedInTheTextOnly()
    {
        var tokenizer = GrammarDriver.Tokenizer;
        var text = "Let me check <that> for you.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>";
        var ids = tokenizer.Encode(text);
        Assert.Contains(tokenizer.GetTokenId("<tool_call>")!.Value, ids); // the added token, as the model writes it
        var grammar = TokenGrammar.AutoToolCalls(GrammarDriver.Tokens, Functions, parallel: false, GrammarDriver.StopIds);
        var inText = true;
        foreach (var id in ids)
        {
            Assert.Equal(inText, grammar.IsAllowed(GrammarDriver.ImEnd));
            Assert.True(grammar.IsAllowed(id), $"token {id} ({tokenizer.Decode([id])}) refused");
            grammar.Accept(id);
            inText &= tokenizer.Decode([id]) != "<tool_call>";
        }
        Assert.True(grammar.IsComplete);
        Assert.False(grammar.IsAllowed(GrammarDriver.ByteToken((byte)'\n'))); // not parallel: only a stop
        Assert.Equal(1, ValidateCalls(text, expectText: true));
    }

    [Fact]
    public void AutoToolCalls_OpenTagSpelledBySubTokens_StartsTheCall()
    {
        var grammar = TokenGrammar.AutoToolCalls(GrammarDriver.Tokens, Functions, parallel: true, GrammarDriver.StopIds);
        Assert.Equal(-1, GrammarDriver.FeedBytes(grammar, "Hi <tool_c <tool_call"));
        Assert.True(grammar.IsAllowed(GrammarDriver.ImEnd));
        Assert.Equal(1, GrammarDriver.FeedBytes(grammar, ">{"));
        Assert.False(grammar.IsAllowed(GrammarDriver.ImEnd));
        Assert.Equal(-1, GrammarDriver.FeedBytes(grammar, "\n{\"name\": \"note\", \"arguments\": {\"text\": \"a\"}}\n</tool_call>\n<tool_call>\n{\"name\": \"add\", \"arguments\": {\"a\": 1, \"b\": 2}}\n</tool_call>"));
        Assert.True(grammar.IsAllowed(GrammarDriver.ImEnd));
    }

    [Fact]
    public void AutoToolCalls_NoCall_PlainTextEndsWithAStop()
    {
        var grammar = TokenGrammar.AutoToolCalls(GrammarDriver.Tokens, Functions, parallel: false, GrammarDriver.StopIds);
        Assert.True(grammar.IsAllowed(GrammarDriver.ImEnd));
        Assert.Equal(-1, GrammarDriver.FeedBytes(grammar, "Just text, </tool_call> and all."));
        grammar.Accept(GrammarDriver.EndOfText);
        Assert.True(grammar.IsComplete);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void AutoToolCalls_RandomModelAfterTheOpenTag_CallsValidate(bool parallel)
    {
        var calls = 0;
        for (var seed = 0; seed < 12; seed++)
        {
            var grammar = TokenGrammar.AutoToolCalls(GrammarDriver.Tokens, Functions, parallel, GrammarDriver.StopIds);
            Assert.Equal(-1, GrammarDriver.FeedBytes(grammar, "Calling.<tool_call>"));
            var ids = GrammarDriver.Run(grammar, GrammarDriver.Random(seed), policySteps: 80);
            calls += ValidateCalls("Calling.<tool_call>" + Decode(ids), expectText: true);
        }
        Assert.True(calls >= 12);
    }

    [Fact]
    public void AutoToolCallsWithContent_EitherTheJsonAnswerOrCalls_NeverFreeText()
    {
        const string Answer = """{"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"]}""";
        TokenGrammar Grammar(bool parallel = false) => TokenGrammar.AutoToolCalls(GrammarDriver.Tokens, Functions, parallel, GrammarDriver.StopIds, SchemaGrammars.Compile(Answer));

        var grammar = Grammar();
        Assert.False(grammar.IsAllowed(GrammarDriver.ImEnd)); // something must be written
        Assert.Equal(-1, GrammarDriver.FeedBytes(grammar, "{\"ok\": true}"));
        Assert.True(grammar.IsAllowed(GrammarDriver.ImEnd));
        Assert.Equal(0, GrammarDriver.FeedBytes(Grammar(), "Sure"));
        Assert.Equal(0, GrammarDriver.FeedBytes(Grammar(), " {"));
        Assert.Equal(2, GrammarDriver.FeedBytes(Grammar(), "{\"no\""));

        grammar = Grammar(parallel: true);
        Assert.Equal(-1, GrammarDriver.FeedBytes(grammar, "<tool_call>\n{\"name\": \"add\", \"arguments\": {\"a\": 1, \"b\": 2}}\n</tool_call>\n<tool_call>\n{\"name\": \"note\", \"arguments\": {\"text\": \"a\"}}\n</tool_call>"));
        Assert.True(grammar.IsAllowed(GrammarDriver.ImEnd));
        const string Call = "<tool_call>\n{\"name\": \"add\", \"arguments\": {\"a\": 1, \"b\": 2}}\n</tool_call>";
        Assert.Equal(Call.Length, GrammarDriver.FeedBytes(Grammar(), Call + "{")); // not parallel: only a stop after the call

        // A random model: every answer is the JSON answer (validated) or calls (each validated against its function).
        var (answers, calls) = (0, 0);
        for (var seed = 0; seed < 16; seed++)
        {
            var text = Decode(GrammarDriver.Run(Grammar(parallel: seed % 2 == 0), GrammarDriver.Random(seed), policySteps: 80));
            if (text.StartsWith('<'))
            {
                calls += ValidateCalls(text, expectText: false);
                continue;
            }
            Assert.True(JsonSchema.FromText(Answer).Evaluate(JsonNode.Parse(text)).IsValid, text);
            answers++;
        }
        Assert.True(answers + calls >= 16);
    }

    [Fact]
    public void ToolArguments_CloseTagInsideAString_RefusedForSchemaAndAnyObject()
    {
        var closeTag = GrammarDriver.Tokenizer.GetTokenId("</tool_call>")!.Value;
        foreach (var arguments in new[] { SchemaGrammars.Compile(NoteSchema), CompiledJsonSchema.AnyObject })
        {
            var grammar = TokenGrammar.AutoToolCalls(GrammarDriver.Tokens, [new ToolGrammar("note", arguments)], parallel: false, GrammarDriver.StopIds);
            Assert.Equal(-1, GrammarDriver.FeedBytes(grammar, "<tool_call>\n{\"name\": \"note\", \"arguments\": {\"text\": \"x"));
            Assert.False(grammar.IsAllowed(closeTag));
            Assert.Equal(11, GrammarDriver.FeedBytes(grammar, "</tool_call>"));
        }
    }

    private static string Decode(List<int> ids) => GrammarDriver.Tokenizer.Decode([.. ids.Where(id => !GrammarDriver.StopIds.Contains(id))]);

    /// <summary>Parses the text's calls and validates each one's arguments against its function's schema; returns the count.</summary>
    private static int ValidateCalls(string text, bool expectText)
    {
        var parsed = ToolCallParser.Parse(text);
        Assert.NotEmpty(parsed.ToolCalls);
        Assert.Equal(expectText, !string.IsNullOrEmpty(parsed.Content));
        foreach (var call in parsed.ToolCalls)
        {
            var results = JsonSchema.FromText(Schemas[call.Name]).Evaluate(JsonNode.Parse(call.Arguments), new EvaluationOptions { OutputFormat = OutputFormat.List });
            Assert.True(results.IsValid, $"{call.Name}({call.Arguments}) does not validate: {text}");
        }
        return parsed.ToolCalls.Count;
    }
}
