using System.Text;

namespace Qwen.Tokenization.ToolCalls;

/// <summary>
/// Parses Qwen2.5 (Hermes-style) <c>&lt;tool_call&gt;</c> blocks out of a whole generated text. Never throws on model
/// output. It runs the <see cref="StreamingToolCallParser"/> state machine over the whole text and accumulates its deltas
/// as a client does, so the streamed and the whole-text results cannot disagree; the rules are stated there.
/// </summary>
public static class ToolCallParser
{
    /// <summary>Splits <paramref name="text"/> into content (null when empty) and tool calls; <paramref name="newId"/> makes each call's id.</summary>
    public static ParsedAssistantMessage Parse(string text, Func<string>? newId = null)
    {
        ArgumentNullException.ThrowIfNull(text);
        var parser = new StreamingToolCallParser(newId);
        var content = new StringBuilder();
        var calls = new List<(string Id, string Name, StringBuilder Arguments)>();
        foreach (var d in parser.Push(text).Concat(parser.Finish()))
        {
            content.Append(d.Content);
            if (d.ToolCall is { } t)
            {
                if (t.Id is not null)
                {
                    calls.Add((t.Id, t.Name!, new StringBuilder()));
                }
                calls[t.Index].Arguments.Append(t.Arguments);
            }
        }
        return new ParsedAssistantMessage(content.Length == 0 ? null : content.ToString(), calls.Select(c => new ToolCall(c.Id, c.Name, c.Arguments.ToString())).ToList());
    }
}
