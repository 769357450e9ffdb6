using System.Text;

namespace Qwen.Tokenization.ToolCalls;

/// <summary>
/// Parses Qwen2.5 (Hermes-style) <c>&lt;tool_call&gt;</c> blocks out of a whole generated text. Never throws on model output.
/// Rules (the streaming parser follows the same): a block whose body is a JSON object with a string "name" is a call;
/// any other block, an unclosed block and a stray close tag stay in the content as plain text; whitespace between
/// content and a call is dropped; content is null when empty.
/// </summary>
public static class ToolCallParser
{
    /// <summary>Splits <paramref name="text"/> into content and tool calls; <paramref name="newId"/> makes each call's id.</summary>
    public static ParsedAssistantMessage Parse(string text, Func<string>? newId = null)
    {
        ArgumentNullException.ThrowIfNull(text);
        newId ??= ToolCallBlock.NewId;
        // Parts in order: content runs (string) and calls.
        var parts = new List<object>();
        var run = new StringBuilder();
        var pos = 0;
        while (true)
        {
            var open = text.IndexOf(ToolCallBlock.Open, pos, StringComparison.Ordinal);
            var close = open < 0 ? -1 : text.IndexOf(ToolCallBlock.Close, open + ToolCallBlock.Open.Length, StringComparison.Ordinal);
            if (close < 0)
            {
                run.Append(text, pos, text.Length - pos);
                break;
            }
            var body = text[(open + ToolCallBlock.Open.Length)..close];
            var end = close + ToolCallBlock.Close.Length;
            if (ToolCallBlock.TryParse(body, out var name, out var arguments))
            {
                run.Append(text, pos, open - pos);
                parts.Add(run.ToString());
                run.Clear();
                parts.Add(new ToolCall(newId(), name, arguments));
            }
            else
            {
                run.Append(text, pos, end - pos);
            }
            pos = end;
        }
        parts.Add(run.ToString());

        var content = new StringBuilder();
        for (var i = 0; i < parts.Count; i++)
        {
            if (parts[i] is string s)
            {
                if (i > 0)
                {
                    s = s.TrimStart();
                }
                if (i < parts.Count - 1)
                {
                    s = s.TrimEnd();
                }
                content.Append(s);
            }
        }
        return new ParsedAssistantMessage(content.Length == 0 ? null : content.ToString(), parts.OfType<ToolCall>().ToList());
    }
}
