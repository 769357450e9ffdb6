namespace Qwen.Tokenization.ToolCalls;

/// <summary>
/// Parses Qwen2.5 (Hermes-style) <c>&lt;tool_call&gt;</c> blocks out of a whole generated text. Never throws on model
/// output. It runs the <see cref="StreamingToolCallParser"/> state machine over the whole text and accumulates its deltas
/// as a client does, so the streamed and the whole-text results cannot disagree; the rules are stated there.
/// </summary>
public static class ToolCallParser
{
    /// <summary>
    /// Splits <paramref name="text"/> into content (null when empty) and tool calls; <paramref name="newId"/> makes each
    /// call's id; <paramref name="options"/> tells what the request allows beyond the markup.
    /// </summary>
    public static ParsedAssistantMessage Parse(string text, Func<string>? newId = null, ToolCallParserOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(text);
        var parser = new StreamingToolCallParser(newId, options);
        var message = new AssistantMessageBuilder();
        foreach (var d in parser.Push(text).Concat(parser.Finish()))
        {
            message.Add(d.Content, d.ToolCall);
        }
        return message.Build();
    }
}
