using System.Text;
using System.Text.Json;
using Qwen.Tokenization.Chat;
using Qwen.Tokenization.ToolCalls;

namespace Qwen.Tokenization.Tests.ToolCalls;

/// <summary>One table of cases, each run whole and streamed (one delta, char by char, random splits); expectations written by hand.</summary>
public sealed class ToolCallConformanceTests
{
    private const string Call = "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>";

    public static TheoryData<string, string, string?, string[]> Cases => new()
    {
        // name, model output, expected content, expected calls as "name|arguments"
        { "plain text", "Hello there.\n", "Hello there.\n", [] },
        { "one call", Call, null, ["get_weather|{\"city\": \"Paris\"}"] },
        { "text then call", "Let me check.\n" + Call, "Let me check.", ["get_weather|{\"city\": \"Paris\"}"] },
        { "two calls", Call + "\n" + Call.Replace("Paris", "東京", StringComparison.Ordinal), null, ["get_weather|{\"city\": \"Paris\"}", "get_weather|{\"city\": \"東京\"}"] },
        { "text after call", Call + "\nDone.", "Done.", ["get_weather|{\"city\": \"Paris\"}"] },
        { "bad json stays content", "<tool_call>\n{\"name\": oops}\n</tool_call>", "<tool_call>\n{\"name\": oops}\n</tool_call>", [] },
        { "missing name stays content", "<tool_call>{\"arguments\": {}}</tool_call>", "<tool_call>{\"arguments\": {}}</tool_call>", [] },
        { "arguments as string", "<tool_call>{\"name\": \"f\", \"arguments\": \"{\\\"a\\\": 1}\"}</tool_call>", null, ["f|{\"a\": 1}"] },
        { "no arguments", "<tool_call>{\"name\": \"now\"}</tool_call>", null, ["now|{}"] },
        { "unclosed block", "Sure <tool_call>\n{\"name\": \"f\", \"argu", "Sure <tool_call>\n{\"name\": \"f\", \"argu", [] },
        { "stray close", "a </tool_call> b", "a </tool_call> b", [] },
        { "partial tag at end", "x <tool_ca", "x <tool_ca", [] },
        { "call then unclosed", Call + "\n<tool_call>{", "<tool_call>{", ["get_weather|{\"city\": \"Paris\"}"] },
        { "whitespace only", "  \n", "  \n", [] },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Parse_WholeAndStreamed_AgreeWithExpectation(string name, string text, string? content, string[] calls)
    {
        var whole = ToolCallParser.Parse(text, Ids());
        Assert.True(content == whole.Content, $"{name}: content {JsonSerializer.Serialize(whole.Content)}");
        Assert.Equal(calls, whole.ToolCalls.Select(c => $"{c.Name}|{c.Arguments}"));

        var random = new Random(name.Length);
        foreach (var splits in new[] { new[] { text.Length }, Enumerable.Repeat(1, text.Length).ToArray(), RandomSplits(text.Length, random), RandomSplits(text.Length, random) })
        {
            var streamed = Stream(text, splits);
            Assert.Equal(whole, streamed, ParsedEquality.Instance);
        }
    }

    [Fact]
    public void Stream_RandomCallsRenderedAsTheModelWrites_AnySplitGivesTheWholeResult()
    {
        var random = new Random(1234);
        string[] names = ["get_weather", "翻译", "a_b", "x"];
        string[] texts = ["", "Let me look.", "多个 🌅 calls", "a<b>c", "line\n\nline"];
        for (var trial = 0; trial < 300; trial++)
        {
            var expected = new List<string>();
            var sb = new StringBuilder(texts[random.Next(texts.Length)]);
            for (var n = random.Next(0, 4); n > 0; n--)
            {
                var name = names[random.Next(names.Length)];
                var args = RandomArguments(random);
                sb.Append(random.Next(2) == 0 ? "\n" : "").Append("<tool_call>\n{\"name\": ").Append(PythonJsonString(name)).Append(", \"arguments\": ").Append(args).Append("}\n</tool_call>");
                expected.Add($"{name}|{args}");
            }
            var text = sb.ToString();
            var whole = ToolCallParser.Parse(text, Ids());
            Assert.Equal(expected, whole.ToolCalls.Select(c => $"{c.Name}|{c.Arguments}"));
            Assert.Equal(whole, Stream(text, RandomSplits(text.Length, random)), ParsedEquality.Instance);
        }
    }

    private static string RandomArguments(Random random)
    {
        using var doc = JsonDocument.Parse(random.Next(4) switch
        {
            0 => "{}",
            1 => "{\"city\": \"Zürich\", \"days\": 3}",
            2 => "{\"q\": \"say \\\"hi\\\"\\n\", \"nested\": {\"list\": [1, 2.5, null, true], \"emoji\": \"🦜\"}}",
            _ => "{\"text\": \"早上好 <tool_call> inside a string\"}",
        });
        return PythonJson.Dumps(doc.RootElement);
    }

    private static string PythonJsonString(string s)
    {
        var sb = new StringBuilder();
        PythonJson.WriteString(sb, s);
        return sb.ToString();
    }

    private static ParsedAssistantMessage Stream(string text, int[] splits)
    {
        var parser = new StreamingToolCallParser(Ids());
        var deltas = new List<AssistantDelta>();
        var pos = 0;
        foreach (var n in splits)
        {
            deltas.AddRange(parser.Push(text.Substring(pos, Math.Min(n, text.Length - pos))));
            pos += n;
        }
        deltas.AddRange(parser.Finish());
        // Accumulate as an OpenAI client does.
        var content = new StringBuilder();
        var calls = new SortedDictionary<int, (string Id, string Name, StringBuilder Args)>();
        foreach (var d in deltas)
        {
            Assert.False(d.Content is not null && d.ToolCall is not null);
            content.Append(d.Content);
            if (d.ToolCall is { } t)
            {
                if (!calls.TryGetValue(t.Index, out var c))
                {
                    Assert.NotNull(t.Id);
                    calls[t.Index] = c = (t.Id!, t.Name!, new StringBuilder());
                }
                c.Args.Append(t.Arguments);
            }
        }
        Assert.Equal(calls.Count > 0, parser.HasToolCalls);
        return new ParsedAssistantMessage(content.Length == 0 ? null : content.ToString(), calls.Values.Select(c => new ToolCall(c.Id, c.Name, c.Args.ToString())).ToList());
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

    private sealed class ParsedEquality : IEqualityComparer<ParsedAssistantMessage>
    {
        public static readonly ParsedEquality Instance = new();

        public bool Equals(ParsedAssistantMessage? x, ParsedAssistantMessage? y)
            => x!.Content == y!.Content && x.ToolCalls.SequenceEqual(y.ToolCalls);

        public int GetHashCode(ParsedAssistantMessage obj) => 0;
    }
}
