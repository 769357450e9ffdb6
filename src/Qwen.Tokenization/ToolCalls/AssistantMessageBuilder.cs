using System.Text;

namespace Qwen.Tokenization.ToolCalls;

/// <summary>
/// Accumulates <see cref="StreamingToolCallParser"/> deltas as a client does (content appended, a call's first delta
/// opening it, later ones appending arguments), so a whole answer is built from the same deltas a stream sends.
/// </summary>
public sealed class AssistantMessageBuilder
{
    private readonly StringBuilder _content = new();
    private readonly List<(string Id, string Name, StringBuilder Arguments)> _calls = [];

    /// <summary>Whether any content has been added.</summary>
    public bool HasContent => _content.Length > 0;

    /// <summary>Adds one delta: content, a call's header, or a piece of its arguments.</summary>
    public void Add(string? content, ToolCallDelta? toolCall)
    {
        _content.Append(content);
        if (toolCall is not { } t)
        {
            return;
        }
        if (t.Id is not null)
        {
            _calls.Add((t.Id, t.Name!, new StringBuilder()));
        }
        _calls[t.Index].Arguments.Append(t.Arguments);
    }

    /// <summary>The content so far, "" when none.</summary>
    public string Content => _content.ToString();

    /// <summary>The calls so far, in index order.</summary>
    public IReadOnlyList<ToolCall> ToolCalls => [.. _calls.Select(c => new ToolCall(c.Id, c.Name, c.Arguments.ToString()))];

    /// <summary>The message so far: content null when empty.</summary>
    public ParsedAssistantMessage Build() => new(HasContent ? Content : null, ToolCalls);
}
