using System.Globalization;
using System.Text;
using System.Text.Json;
using Qwen.Tokenization.Chat;

namespace Qwen.Bench;

/// <summary>
/// A scripted tool-using conversation, as a coding agent builds one: a system prompt and two tool definitions, then turns
/// of user message, assistant tool call and tool result. Turn k's request is the conversation through turn k's tool
/// result, so each request's rendered text extends the one before (what prefix caching can reuse). The tool results are
/// <see cref="ResultChars"/> characters of seeded filler each; <see cref="Fit"/> sizes them so that the last turn's
/// prompt is about a given number of tokens.
/// </summary>
internal sealed class AgentConversation
{
    private const string SearchTool = """{"type": "function", "function": {"name": "search_code", "description": "Search the repository for a text; returns matching lines with their file and line number.", "parameters": {"type": "object", "properties": {"query": {"type": "string", "description": "Text to look for."}, "limit": {"type": "integer", "description": "Most matches to return."}}, "required": ["query"]}}}""";

    private const string ReadTool = """{"type": "function", "function": {"name": "read_file", "description": "Read lines of a file in the repository.", "parameters": {"type": "object", "properties": {"path": {"type": "string"}, "start": {"type": "integer"}, "end": {"type": "integer"}}, "required": ["path"]}}}""";

    private static readonly string[] Words = ["request", "handler", "options", "cache", "slot", "token", "stream", "engine", "prefill", "decode", "batch", "sampler", "result", "value", "count", "index"];

    private readonly List<ChatMessage> _messages;

    private AgentConversation(int seed, int turns, int resultChars)
    {
        Turns = turns;
        ResultChars = resultChars;
        Tools = [Tool("search_code", SearchTool), Tool("read_file", ReadTool)];
        // The seed opens the system prompt, so conversations of different seeds share almost no prefix in one engine.
        _messages = [new(ChatRole.System, $"Session {seed}. You are a coding agent working in a C# repository. Use the tools to find what the user asks about; call one tool at a time and answer briefly.")];
        for (var k = 1; k <= turns; k++)
        {
            var call = k % 2 == 1
                ? new ChatToolCall("search_code", $$"""{"query": "kind {{k}} {{Words[k % Words.Length]}}", "limit": 20}""")
                : new ChatToolCall("read_file", $$"""{"path": "src/Module{{k}}/{{Words[k % Words.Length]}}.cs", "start": 1, "end": 120}""");
            _messages.Add(new(ChatRole.User, $"Step {k}: find where the {Words[k % Words.Length]} for request kind {k} is handled, and tell me what it returns."));
            _messages.Add(new(ChatRole.Assistant, "", [call]));
            _messages.Add(new(ChatRole.Tool, Filler(seed, k, resultChars)));
        }
    }

    /// <summary>Turns in the conversation.</summary>
    public int Turns { get; }

    /// <summary>Characters of each tool result.</summary>
    public int ResultChars { get; }

    /// <summary>The tool definitions every request carries.</summary>
    public IReadOnlyList<ChatTool> Tools { get; }

    /// <summary>The conversation as of turn <paramref name="turn"/> (1-based): the system prompt and that many turns.</summary>
    public IReadOnlyList<ChatMessage> Through(int turn)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(turn, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(turn, Turns);
        return _messages.Take(1 + (3 * turn)).ToList();
    }

    public static AgentConversation Create(int seed, int turns, int resultChars)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(turns, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(resultChars);
        return new(seed, turns, resultChars);
    }

    /// <summary>
    /// The conversation whose last turn's prompt is closest to <paramref name="targetTokens"/> as <paramref name="tokens"/>
    /// counts it (the prompt tokens of a conversation's turn); the tool results' length is found by bisection, since
    /// longer results never make fewer tokens but for a token or two at the cut. Throws when even empty results exceed the target.
    /// </summary>
    public static AgentConversation Fit(int seed, int turns, int targetTokens, Func<AgentConversation, int, int> tokens)
    {
        int Last(int chars) => tokens(Create(seed, turns, chars), turns);
        var least = Last(0);
        if (least > targetTokens)
        {
            throw new ArgumentOutOfRangeException(nameof(targetTokens), $"the last turn of {turns} has {least} tokens with empty tool results, more than the target {targetTokens}");
        }
        // Grow an upper bound, then bisect for the fewest characters that reach the target.
        var (lo, hi) = (0, 64);
        while (Last(hi) < targetTokens)
        {
            (lo, hi) = (hi, hi * 2);
        }
        while (hi - lo > 1)
        {
            var mid = lo + ((hi - lo) / 2);
            if (Last(mid) < targetTokens)
            {
                lo = mid;
            }
            else
            {
                hi = mid;
            }
        }
        var best = targetTokens - Last(lo) <= Last(hi) - targetTokens ? lo : hi;
        return Create(seed, turns, best);
    }

    private static ChatTool Tool(string name, string json)
    {
        using var document = JsonDocument.Parse(json);
        return new ChatTool(name, document.RootElement.Clone());
    }

    /// <summary>Search-result-like lines, seeded by conversation and turn, cut to <paramref name="chars"/> characters.</summary>
    private static string Filler(int seed, int turn, int chars)
    {
        var random = new Random((seed * 1000) + turn);
        var text = new StringBuilder(chars + 128);
        while (text.Length < chars)
        {
            var (a, b) = (Words[random.Next(Words.Length)], Words[random.Next(Words.Length)]);
            text.Append(CultureInfo.InvariantCulture, $"src/Module{random.Next(1, 40)}/{a}{b}.cs:{random.Next(1, 900)}: var {a} = {b}.Get{a}({random.Next(100)});\n");
        }
        return text.ToString(0, chars);
    }
}
