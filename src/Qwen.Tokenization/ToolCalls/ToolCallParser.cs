namespace Qwen.Tokenization.ToolCalls;

/// <summary>Parses Qwen2.5 (Hermes-style) <c>&lt;tool_call&gt;</c> blocks out of a whole generated text. Never throws on model output.</summary>
public static class ToolCallParser
{
    /// <summary>Splits <paramref name="text"/> into content and tool calls; <paramref name="newId"/> makes each call's id.</summary>
    public static ParsedAssistantMessage Parse(string text, Func<string>? newId = null) => throw new InvalidOperationException("pending " + text + newId);
}
