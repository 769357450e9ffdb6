using System.Text.Json;
using Qwen.Tokenization.ToolCalls;

namespace Qwen.Tokenization.Tests.ToolCalls;

/// <summary>
/// The parser's request-aware rules (<see cref="ToolCallParserOptions"/>): bare JSON calls with tool_choice auto, and
/// forced calls cut short. Every case runs whole and streamed under several splits, as the markup conformance cases do,
/// and once more token by token through the real Qwen2.5 tokenizer's detokenizer.
/// </summary>
public sealed class BareAndForcedCallTests
{
    private const string Weather = "{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}";

    private static readonly ToolCallParserOptions Bare = new() { BareCallNames = ["get_weather", "now"] };

    private static readonly ToolCallParserOptions Forced = new() { ForcedCallNames = ["get_weather", "get_time", "now"] };

    public static TheoryData<string, string, string?, string[]> BareCases => new()
    {
        // name, model output, expected content, expected calls as "name|arguments"
        { "bare call", Weather, null, ["get_weather|{\"city\": \"Paris\"}"] },
        { "whitespace around", " \n" + Weather + "\n\n ", null, ["get_weather|{\"city\": \"Paris\"}"] },
        { "compact", "{\"name\":\"now\",\"arguments\":{}}", null, ["now|{}"] },
        { "arguments first", "{\"arguments\": {\"city\": \"Paris\"}, \"name\": \"get_weather\"}", null, ["get_weather|{\"city\": \"Paris\"}"] },
        { "arguments as a string holding an object", "{\"name\": \"now\", \"arguments\": \"{\\\"tz\\\": \\\"UTC\\\"}\"}", null, ["now|{\"tz\": \"UTC\"}"] },
        { "nested arguments with braces in strings", "{\"name\": \"now\", \"arguments\": {\"a\": [{\"b\": \"}\"}], \"c\": \"{\"}}", null, ["now|{\"a\": [{\"b\": \"}\"}], \"c\": \"{\"}"] },
        { "unknown name", "{\"name\": \"get_time\", \"arguments\": {}}", "{\"name\": \"get_time\", \"arguments\": {}}", [] },
        { "extra top-level key", "{\"name\": \"now\", \"arguments\": {}, \"id\": 1}", "{\"name\": \"now\", \"arguments\": {}, \"id\": 1}", [] },
        { "key repeated", "{\"name\": \"now\", \"name\": \"now\", \"arguments\": {}}", "{\"name\": \"now\", \"name\": \"now\", \"arguments\": {}}", [] },
        { "no arguments", "{\"name\": \"now\"}", "{\"name\": \"now\"}", [] },
        { "arguments not an object", "{\"name\": \"now\", \"arguments\": [1]}", "{\"name\": \"now\", \"arguments\": [1]}", [] },
        { "arguments a string not holding an object", "{\"name\": \"now\", \"arguments\": \"soon\"}", "{\"name\": \"now\", \"arguments\": \"soon\"}", [] },
        { "arguments not json", "{\"name\": \"now\", \"arguments\": {\"a\": oops}}", "{\"name\": \"now\", \"arguments\": {\"a\": oops}}", [] },
        { "text before", "Sure: " + Weather, "Sure: " + Weather, [] },
        { "text after", Weather + " done", Weather + " done", [] },
        { "two objects", Weather + "\n" + Weather, Weather + "\n" + Weather, [] },
        { "cut short", "{\"name\": \"get_weather\", \"arguments\": {\"city\"", "{\"name\": \"get_weather\", \"arguments\": {\"city\"", [] },
        { "not json at all", "{ hello }", "{ hello }", [] },
        { "fenced stays content", "```json\n" + Weather + "\n```", "```json\n" + Weather + "\n```", [] },
        { "json answer, then a markup call", "{\"a\": 1}\n<tool_call>\n" + Weather + "\n</tool_call>", "{\"a\": 1}", ["get_weather|{\"city\": \"Paris\"}"] },
        { "markup call, then a bare object", "<tool_call>\n" + Weather + "\n</tool_call>\n" + Weather, Weather, ["get_weather|{\"city\": \"Paris\"}"] },
        { "plain text", "It is sunny.", "It is sunny.", [] },
    };

    public static TheoryData<string, string, string?, string[]> ForcedCases => new()
    {
        // the text starts with what the server put in the prompt (tool_choice required: "<tool_call>\n")
        { "cut before the name: the first tool", "<tool_call>\n", null, ["get_weather|"] },
        { "cut in the object's opening", "<tool_call>\n{\"na", null, ["get_weather|"] },
        { "cut in the name: the first tool it begins", "<tool_call>\n{\"name\": \"get_t", null, ["get_time|"] },
        { "cut in an escape of the name", "<tool_call>\n{\"name\": \"no\\u007", null, ["now|"] },
        { "cut after the name", "<tool_call>\n{\"name\": \"now\", \"argu", null, ["now|"] },
        { "cut in the arguments: as written", "<tool_call>\n{\"name\": \"now\", \"arguments\": {\"tz\": ", null, ["now|{\"tz\": "] },
        { "complete call", "<tool_call>\n{\"name\": \"now\", \"arguments\": {}}\n</tool_call>", null, ["now|{}"] },
        { "second call cut", "<tool_call>\n{\"name\": \"now\", \"arguments\": {}}\n</tool_call>\n<tool_call>\n{\"name\": \"get_w", null, ["now|{}", "get_weather|"] },
    };

    [Theory]
    [MemberData(nameof(BareCases))]
    public void Parse_BareCallNames_WholeAndStreamedAgreeWithExpectation(string name, string text, string? content, string[] calls)
        => Check(name, text, content, calls, Bare);

    [Theory]
    [MemberData(nameof(ForcedCases))]
    public void Parse_ForcedCallNames_WholeAndStreamedAgreeWithExpectation(string name, string text, string? content, string[] calls)
        => Check(name, text, content, calls, Forced);

    [Fact]
    public void Parse_NamedFunctionCutBeforeArguments_ThatFunctionWithNoArguments()
    {
        var named = new ToolCallParserOptions { ForcedCallNames = ["get_time"] };
        Check("named", "<tool_call>\n{\"name\": \"get_time\", \"arguments\": ", null, ["get_time|"], named);
    }

    [Theory]
    [InlineData(Weather)]
    [InlineData("<tool_call>\n{\"name\": \"get_t")]
    public void Parse_WithoutOptions_BareJsonAndCutBlocksStayContent(string text)
        => Check("default", text, text, [], null);

    [Fact]
    public void Push_PossibleBareCall_HeldUntilTheEndAndContentFlushedOnceItCannotBeOne()
    {
        var parser = new StreamingToolCallParser(null, Bare);
        Assert.Empty(parser.Push(" {\"name\": \"get_weather\", "));
        Assert.Empty(parser.Push("\"arguments\": {\"city\": \"Paris\"}}\n"));
        Assert.Equal("get_weather", Assert.Single(parser.Finish(), d => d.ToolCall?.Name is not null).ToolCall!.Name);

        parser = new StreamingToolCallParser(null, Bare);
        Assert.Empty(parser.Push(" {\"name\": \"weather"));
        // The name closes and is no tool's: everything held is released, leading whitespace included.
        Assert.Equal([new AssistantDelta(" {\"name\": \"weather\"", null)], parser.Push("\""));
        Assert.Equal([new AssistantDelta("}", null)], parser.Push("}"));
    }

    [Theory]
    [InlineData("{\"name\": \"get_weather\", \"arguments\": {\"city\": \"東京 🌅\", \"days\": [1, 2]}}", "get_weather|{\"city\": \"東京 🌅\", \"days\": [1, 2]}", null)]
    [InlineData("{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}} Done.", null, "{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}} Done.")]
    public void Stream_RealTokenizerPieces_SameAsWhole(string text, string? call, string? content)
    {
        // Token by token as the server feeds the parser: the detokenizer's pieces, not characters.
        var tokenizer = TestTokenizers.FromVocab;
        var detokenizer = tokenizer.CreateDetokenizer(skipSpecialTokens: true);
        var parser = new StreamingToolCallParser(null, Bare);
        var message = new AssistantMessageBuilder();
        foreach (var id in tokenizer.Encode(text))
        {
            foreach (var d in parser.Push(detokenizer.Push(id)))
            {
                message.Add(d.Content, d.ToolCall);
            }
        }
        foreach (var d in parser.Push(detokenizer.Flush()).Concat(parser.Finish()))
        {
            message.Add(d.Content, d.ToolCall);
        }
        var streamed = message.Build();
        var whole = ToolCallParser.Parse(text, null, Bare);
        Assert.Equal(content, streamed.Content);
        Assert.Equal(call is null ? [] : [call], streamed.ToolCalls.Select(c => $"{c.Name}|{c.Arguments}"));
        Assert.Equal(whole.Content, streamed.Content);
        Assert.Equal(whole.ToolCalls.Select(c => (c.Name, c.Arguments)), streamed.ToolCalls.Select(c => (c.Name, c.Arguments)));
    }

    [Fact]
    public void Stream_RandomTextWithBareAndForcedOptions_AnySplitGivesTheWholeResult()
    {
        string[] pieces =
        [
            "{", "}", " ", "\n", "\"name\"", "\"arguments\"", ": ", ", ", "\"now\"", "\"get_weather\"", "\"x\"", "{}", "[1]",
            "<tool_call>", "</tool_call>", "\\", "\"", "é", "🦜", "\"{}\"",
        ];
        var random = new Random(7);
        foreach (var options in new[] { Bare, Forced })
        {
            for (var trial = 0; trial < 500; trial++)
            {
                var text = string.Concat(Enumerable.Range(0, random.Next(0, 16)).Select(_ => pieces[random.Next(pieces.Length)]));
                var results = ToolCallConformanceTests.AllWays(text, trial, options).ToList();
                foreach (var (how, result) in results.Skip(1))
                {
                    Assert.True(
                        results[0].Result.Content == result.Content && results[0].Result.ToolCalls.SequenceEqual(result.ToolCalls),
                        $"{JsonSerializer.Serialize(text)} ({how}): {JsonSerializer.Serialize(result)} vs whole {JsonSerializer.Serialize(results[0].Result)}");
                }
            }
        }
    }

    private static void Check(string name, string text, string? content, string[] calls, ToolCallParserOptions? options)
    {
        foreach (var (how, result) in ToolCallConformanceTests.AllWays(text, name.Length, options))
        {
            Assert.True(content == result.Content, $"{name} ({how}): content {JsonSerializer.Serialize(result.Content)}");
            Assert.True(calls.SequenceEqual(result.ToolCalls.Select(c => $"{c.Name}|{c.Arguments}")), $"{name} ({how}): calls {JsonSerializer.Serialize(result.ToolCalls)}");
        }
    }
}
