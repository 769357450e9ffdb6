using System.Text;

namespace Qwen.Tokenization.ToolCalls;

/// <summary>
/// The one tool-call state machine (<see cref="ToolCallParser.Parse"/> runs it over the whole text): consumes text
/// deltas, yields content and tool-call deltas. It never retracts anything, so what a client accumulates equals the
/// whole-text result for any split of the text. The rule, one character at a time:
/// <list type="bullet">
/// <item>Content is emitted as soon as it cannot be the start of <c>&lt;tool_call&gt;</c> or whitespace before a call.</item>
/// <item>A block whose body starts <c>{"name": "NAME", "arguments": {</c> (any JSON whitespace) commits on that <c>{</c>:
/// a header delta (index, new id, name), then the arguments object's raw text as it arrives, tracked by a string- and
/// escape-aware depth count (a <c>&lt;/tool_call&gt;</c> inside a string is part of it). When the object closes the call
/// is complete and the rest of the block up to <c>&lt;/tool_call&gt;</c> is dropped; if the text ends first, the call
/// stands with the arguments so far.</item>
/// <item>Any other block is held until its first <c>&lt;/tool_call&gt;</c> and decided whole (see <see cref="ToolCallBlock.TryParse"/>):
/// a call (header, then all arguments) or, markup included, content. Left open at the end, it is content.</item>
/// <item>Whitespace between content and a call is dropped; a stray <c>&lt;/tool_call&gt;</c> is content.</item>
/// <item>With <see cref="ToolCallParserOptions.BareCallNames"/>: an output that opens with <c>{</c> (after whitespace) is
/// held while it can still be a bare call (<see cref="BareCallMatcher"/>), and after the object closes while only
/// whitespace follows. Only the end of the text decides it a call (header and all arguments at once); anything else
/// replays the held text through the rules above.</item>
/// <item>With <see cref="ToolCallParserOptions.ForcedCallNames"/>: a block still undecided at the end is a call with
/// the name written so far completed from the tools, and no arguments.</item>
/// </list>
/// Push is O(length of the delta), amortised. One per sequence; not thread-safe.
/// </summary>
public sealed class StreamingToolCallParser(Func<string>? newId = null, ToolCallParserOptions? options = null)
{
    private readonly Func<string> _newId = newId ?? ToolCallBlock.NewId;
    private readonly ToolCallParserOptions _options = options ?? ToolCallParserOptions.Default;
    private readonly StringBuilder _bare = new(); // a possible bare call held back: the object and whitespace after it
    private readonly StringBuilder _heldWhitespace = new(); // trailing content whitespace: dropped if a call follows
    private readonly StringBuilder _block = new(); // an uncommitted block's body so far
    private readonly ToolCallHeaderMatcher _header = new();
    private readonly StringBuilder _run = new(); // the delta being built: content, or arguments of call _runIndex
    private List<AssistantDelta>? _output;
    private State _state;
    private int _openMatched; // characters of <tool_call> matched at the end of the content (held back)
    private int _closeMatched; // characters of </tool_call> matched inside a block
    private bool _afterCall; // leading whitespace of the content that follows a call is dropped
    private JsonNesting _arguments; // where the arguments object closes
    private int _calls; // calls with a header emitted
    private int _completed; // calls whose arguments are complete
    private int _closed; // calls whose block's close tag was read
    private int _runIndex = -1; // -1: _run holds content
    private bool _finished;
    private BareCallMatcher? _bareMatcher;
    private bool _bareDecided; // the text is past the point where a bare call may start

    private enum State { Content, Block, Arguments, Tail, Bare, BareTail }

    /// <summary>
    /// Whether a tool call is complete (its arguments object closed, or the stream finished with a committed call
    /// open, a forced call cut short or a bare call): the finish reason becomes <c>tool_calls</c>, and with <c>parallel_tool_calls</c> false generation may stop.
    /// </summary>
    public bool HasToolCalls => _completed > 0;

    /// <summary>
    /// Calls whose block has been closed by its <c>&lt;/tool_call&gt;</c> (a close tag inside an arguments string does not
    /// count): with <c>parallel_tool_calls</c> false a choice ends once the first call's block is closed.
    /// </summary>
    public int CallsClosed => _closed;

    /// <summary>Consumes a text delta and returns the deltas it produces (possibly none).</summary>
    public IReadOnlyList<AssistantDelta> Push(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (_finished)
        {
            throw new InvalidOperationException("Push after Finish: a parser serves one sequence");
        }
        foreach (var c in text)
        {
            Step(c);
        }
        return TakeOutput();
    }

    /// <summary>
    /// Ends the stream and returns what was held back: held content, and an unclosed uncommitted block as content.
    /// A committed call whose arguments are still open stands as streamed (the engine's finish reason, usually
    /// <c>length</c>, tells why). Further calls to <see cref="Push"/> throw.
    /// </summary>
    public IReadOnlyList<AssistantDelta> Finish()
    {
        if (_finished)
        {
            return [];
        }
        _finished = true;
        if (_state == State.BareTail && ToolCallBlock.TryParse(_bare.ToString().TrimEnd(), out var bareName, out var bareArguments))
        {
            Arguments(BeginCall(bareName), bareArguments);
            _completed++;
            return TakeOutput();
        }
        if (_state is State.Bare or State.BareTail)
        {
            Replay(string.Empty);
        }
        switch (_state)
        {
            case State.Content:
                EmitText(ToolCallBlock.Open.AsSpan(0, _openMatched));
                _openMatched = 0;
                Content(_heldWhitespace);
                _heldWhitespace.Clear();
                break;
            case State.Block when _options.ForcedCallNames.Count > 0:
                // A grammar was writing this call when the text ended: it stands, named as far as it was written.
                var written = _header.PartialName;
                BeginCall(_options.ForcedCallNames.FirstOrDefault(n => n.StartsWith(written, StringComparison.Ordinal)) ?? _options.ForcedCallNames[0]);
                _completed = _calls;
                _block.Clear();
                break;
            case State.Block:
                EmitText(ToolCallBlock.Open);
                Content(_block);
                _block.Clear();
                break;
            case State.Arguments:
                _completed = _calls;
                break;
        }
        return TakeOutput();
    }

    private void Step(char c)
    {
        switch (_state)
        {
            case State.Content:
                StepContent(c);
                break;
            case State.Block:
                StepBlock(c);
                break;
            case State.Arguments:
                StepArguments(c);
                break;
            case State.Bare:
                StepBare(c);
                break;
            case State.BareTail:
                StepBareTail(c);
                break;
            default:
                if (MatchClose(c))
                {
                    _state = State.Content;
                    _afterCall = true;
                    _closed++;
                }
                break;
        }
    }

    private void StepContent(char c)
    {
        var open = ToolCallBlock.Open;
        if (c == open[_openMatched])
        {
            if (++_openMatched == open.Length)
            {
                _openMatched = 0;
                _state = State.Block;
                _closeMatched = 0;
                _header.Reset();
            }
            return;
        }
        if (_openMatched > 0)
        {
            // Not the tag after all: what was held is content. '<' occurs only first in the tag, so c can restart it.
            EmitText(open.AsSpan(0, _openMatched));
            _openMatched = c == open[0] ? 1 : 0;
            if (_openMatched == 1)
            {
                return;
            }
        }
        if (char.IsWhiteSpace(c))
        {
            if (!_afterCall)
            {
                _heldWhitespace.Append(c);
            }
            return;
        }
        if (!_bareDecided)
        {
            _bareDecided = true;
            if (c == '{' && _calls == 0 && _options.BareCallNames.Count > 0)
            {
                _bareMatcher = new BareCallMatcher(_options.BareCallNames);
                _bare.Append(c);
                _state = State.Bare;
                return;
            }
        }
        EmitText([c]);
    }

    private void StepBare(char c)
    {
        _bare.Append(c);
        switch (_bareMatcher!.Push(c))
        {
            case ToolCallHeaderMatcher.Result.Failed:
                Replay(string.Empty);
                break;
            case ToolCallHeaderMatcher.Result.Committed when ToolCallBlock.TryParse(_bare.ToString(), out _, out _):
                _state = State.BareTail; // a call if nothing but whitespace follows
                break;
            case ToolCallHeaderMatcher.Result.Committed:
                Replay(string.Empty); // the object closed but is not JSON after all
                break;
        }
    }

    private void StepBareTail(char c)
    {
        if (char.IsWhiteSpace(c))
        {
            _bare.Append(c);
            return;
        }
        Replay(c.ToString());
    }

    /// <summary>Not a bare call: the held text, then <paramref name="next"/>, go through the content rules after all.</summary>
    private void Replay(string next)
    {
        var held = _bare.Append(next).ToString();
        _bare.Clear();
        _bareMatcher = null;
        _state = State.Content;
        foreach (var ch in held)
        {
            Step(ch);
        }
    }

    private void StepBlock(char c)
    {
        _block.Append(c);
        if (MatchClose(c))
        {
            // Not committed before its first close tag: decide the body whole.
            var body = _block.ToString(0, _block.Length - ToolCallBlock.Close.Length);
            _block.Clear();
            _state = State.Content;
            if (ToolCallBlock.TryParse(body, out var name, out var arguments))
            {
                var index = BeginCall(name);
                Arguments(index, arguments);
                _completed++;
                _closed++;
                _afterCall = true;
            }
            else
            {
                EmitText(ToolCallBlock.Open);
                Content(body);
                Content(ToolCallBlock.Close);
            }
            return;
        }
        if (_header.Push(c) == ToolCallHeaderMatcher.Result.Committed)
        {
            _block.Clear();
            var index = BeginCall(_header.Name);
            _state = State.Arguments;
            _arguments = JsonNesting.Opened();
            Arguments(index, "{");
        }
    }

    private void StepArguments(char c)
    {
        Arguments(_calls - 1, c);
        if (_arguments.Push(c))
        {
            _completed++;
            _state = State.Tail;
            _closeMatched = 0;
        }
    }

    /// <summary>Advances the close-tag match; true when <c>&lt;/tool_call&gt;</c> is complete ('&lt;' occurs only first in it).</summary>
    private bool MatchClose(char c)
    {
        var close = ToolCallBlock.Close;
        if (c == close[_closeMatched])
        {
            if (++_closeMatched == close.Length)
            {
                _closeMatched = 0;
                return true;
            }
            return false;
        }
        _closeMatched = c == close[0] ? 1 : 0;
        return false;
    }

    /// <summary>Emits the header delta of a new call; whitespace held before it is dropped.</summary>
    private int BeginCall(string name)
    {
        _heldWhitespace.Clear();
        var index = _calls++;
        FlushRun();
        (_output ??= []).Add(new AssistantDelta(null, new ToolCallDelta(index, _newId(), name, null)));
        return index;
    }

    /// <summary>Emits content text that starts with a non-whitespace character, after any whitespace held before it.</summary>
    private void EmitText(ReadOnlySpan<char> text)
    {
        if (text.IsEmpty)
        {
            return;
        }
        Content(_heldWhitespace);
        _heldWhitespace.Clear();
        Content(text);
        _afterCall = false;
        _bareDecided = true; // content was shown: the output is no longer only a JSON object
    }

    private void Content(StringBuilder text)
    {
        foreach (var chunk in text.GetChunks())
        {
            Content(chunk.Span);
        }
    }

    private void Content(ReadOnlySpan<char> text)
    {
        if (text.IsEmpty)
        {
            return;
        }
        if (_runIndex != -1)
        {
            FlushRun();
        }
        _run.Append(text);
    }

    private void Arguments(int index, ReadOnlySpan<char> text)
    {
        if (_runIndex != index)
        {
            FlushRun();
            _runIndex = index;
        }
        _run.Append(text);
    }

    private void Arguments(int index, char c) => Arguments(index, [c]);

    private void FlushRun()
    {
        if (_run.Length > 0)
        {
            var text = _run.ToString();
            (_output ??= []).Add(_runIndex == -1 ? new AssistantDelta(text, null) : new AssistantDelta(null, new ToolCallDelta(_runIndex, null, null, text)));
            _run.Clear();
        }
        _runIndex = -1;
    }

    private IReadOnlyList<AssistantDelta> TakeOutput()
    {
        FlushRun();
        var output = _output;
        _output = null;
        return output is null ? [] : output;
    }
}
