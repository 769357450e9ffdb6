using System.Text;

namespace Qwen.Tokenization.ToolCalls;

/// <summary>
/// The streaming form of <see cref="ToolCallParser"/>: consumes text deltas, yields content and tool-call deltas whose
/// accumulation equals the non-streaming result. Content is emitted as soon as it cannot be the start of a
/// <c>&lt;tool_call&gt;</c> tag or whitespace before a call; a block is held until its close tag, then emitted as one
/// call (id and name, then the arguments) or, if it is not a call, as content. One per sequence; not thread-safe.
/// </summary>
public sealed class StreamingToolCallParser(Func<string>? newId = null)
{
    private readonly Func<string> _newId = newId ?? ToolCallBlock.NewId;
    private readonly StringBuilder _buffer = new();
    private string _heldWhitespace = string.Empty;
    private bool _inBlock;
    private bool _afterCall;
    private int _calls;

    /// <summary>Whether any tool call has been emitted (the finish reason becomes <c>tool_calls</c>).</summary>
    public bool HasToolCalls => _calls > 0;

    /// <summary>Consumes a text delta and returns the deltas it completes (possibly none).</summary>
    public IReadOnlyList<AssistantDelta> Push(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        _buffer.Append(text);
        var output = new List<AssistantDelta>();
        while (true)
        {
            var s = _buffer.ToString();
            if (_inBlock)
            {
                var close = s.IndexOf(ToolCallBlock.Close, StringComparison.Ordinal);
                if (close < 0)
                {
                    return output;
                }
                var body = s[..close];
                _buffer.Remove(0, close + ToolCallBlock.Close.Length);
                _inBlock = false;
                if (ToolCallBlock.TryParse(body, out var name, out var arguments))
                {
                    _heldWhitespace = string.Empty; // whitespace before a call is dropped
                    var index = _calls++;
                    output.Add(new AssistantDelta(null, new ToolCallDelta(index, _newId(), name, null)));
                    output.Add(new AssistantDelta(null, new ToolCallDelta(index, null, null, arguments)));
                    _afterCall = true;
                }
                else
                {
                    EmitContent(ToolCallBlock.Open + body + ToolCallBlock.Close, output, holdTrailingWhitespace: false);
                }
                continue;
            }
            var open = s.IndexOf(ToolCallBlock.Open, StringComparison.Ordinal);
            if (open >= 0)
            {
                // Text before the tag is content; its trailing whitespace waits to see whether a call follows.
                EmitContent(s[..open], output, holdTrailingWhitespace: true);
                _buffer.Remove(0, open + ToolCallBlock.Open.Length);
                _inBlock = true;
                continue;
            }
            var keep = PartialTagLength(s);
            EmitContent(s[..^keep], output, holdTrailingWhitespace: true);
            _buffer.Remove(0, s.Length - keep);
            return output;
        }
    }

    /// <summary>Ends the stream: returns what is still held back (an unclosed block becomes content, as the non-streaming parser does).</summary>
    public IReadOnlyList<AssistantDelta> Finish()
    {
        var output = new List<AssistantDelta>();
        var rest = (_inBlock ? ToolCallBlock.Open : string.Empty) + _buffer;
        _buffer.Clear();
        _inBlock = false;
        EmitContent(rest, output, holdTrailingWhitespace: false);
        if (_heldWhitespace.Length > 0)
        {
            output.Add(new AssistantDelta(_heldWhitespace, null));
            _heldWhitespace = string.Empty;
        }
        return output;
    }

    private void EmitContent(string text, List<AssistantDelta> output, bool holdTrailingWhitespace)
    {
        if (_afterCall)
        {
            text = text.TrimStart(); // whitespace after a call is dropped
            if (text.Length == 0)
            {
                return;
            }
            _afterCall = false;
        }
        var body = holdTrailingWhitespace ? text.TrimEnd() : text;
        var trailing = text[body.Length..];
        if (body.Length > 0)
        {
            output.Add(new AssistantDelta(_heldWhitespace + body, null));
            _heldWhitespace = trailing;
        }
        else
        {
            _heldWhitespace += trailing;
        }
    }

    /// <summary>Length of the longest suffix of <paramref name="s"/> that is a proper prefix of the open tag.</summary>
    private static int PartialTagLength(string s)
    {
        for (var n = Math.Min(ToolCallBlock.Open.Length - 1, s.Length); n > 0; n--)
        {
            if (s.AsSpan(s.Length - n).SequenceEqual(ToolCallBlock.Open.AsSpan(0, n)))
            {
                return n;
            }
        }
        return 0;
    }
}
