using System.Text;
using System.Text.Json;

namespace Qwen.Tokenization.ToolCalls;

/// <summary>
/// Decides, one character at a time after the opening <c>{</c>, whether text can still be a bare JSON call: an object
/// whose top-level keys are exactly "name" (a string naming a known tool) and "arguments" (an object, or a string), in
/// either order, each once. It fails as soon as the text cannot be one (another key, a repeated key, an unknown name,
/// a value of another kind), so content that only starts with <c>{</c> is held back briefly. Inside the arguments
/// object it tracks only nesting and strings (<see cref="JsonNesting"/>): the complete object is parsed whole once it closes
/// (<see cref="ToolCallBlock.TryParse"/>).
/// </summary>
internal sealed class BareCallMatcher(IReadOnlyCollection<string> names)
{
    private readonly StringBuilder _literal = new(); // the key or name string literal being read, quotes included
    private readonly HashSet<string> _seen = [];
    private Step _step = Step.Key;
    private string _key = string.Empty;
    private bool _escaped;
    private JsonNesting _arguments;

    private enum Step { Key, KeyLiteral, Colon, Value, StringValue, ObjectValue, AfterValue, Done, Failed }

    /// <summary>Consumes one character; <see cref="ToolCallHeaderMatcher.Result.Committed"/> means the object closed as a possible call.</summary>
    public ToolCallHeaderMatcher.Result Push(char c)
    {
        if (_step is Step.Done or Step.Failed)
        {
            return Fail();
        }
        var between = _step is Step.Key or Step.Colon or Step.Value or Step.AfterValue;
        if (between && ToolCallBlock.IsJsonWhitespace(c))
        {
            return ToolCallHeaderMatcher.Result.Pending;
        }
        switch (_step)
        {
            case Step.Key:
                return c == '"' ? Literal(c, Step.KeyLiteral) : Fail();
            case Step.KeyLiteral:
                return ReadLiteral(c, KeyRead);
            case Step.Colon:
                return c == ':' ? Next(Step.Value) : Fail();
            case Step.Value when c == '"':
                return Literal(c, Step.StringValue);
            case Step.Value when c == '{' && _key == "arguments":
                _arguments = JsonNesting.Opened();
                return Next(Step.ObjectValue);
            case Step.Value:
                return Fail();
            case Step.StringValue:
                return ReadLiteral(c, ValueRead);
            case Step.ObjectValue:
                return _arguments.Push(c) ? Next(Step.AfterValue) : ToolCallHeaderMatcher.Result.Pending;
            default: // AfterValue
                if (c == ',')
                {
                    return Next(Step.Key);
                }
                if (c == '}' && _seen.Count == 2)
                {
                    _step = Step.Done;
                    return ToolCallHeaderMatcher.Result.Committed;
                }
                return Fail();
        }
    }

    private ToolCallHeaderMatcher.Result KeyRead(string key)
    {
        if (key is not ("name" or "arguments") || !_seen.Add(key))
        {
            return Fail();
        }
        _key = key;
        return Next(Step.Colon);
    }

    private ToolCallHeaderMatcher.Result ValueRead(string value)
        => _key != "name" || names.Contains(value) ? Next(Step.AfterValue) : Fail();

    private ToolCallHeaderMatcher.Result Literal(char quote, Step next)
    {
        _literal.Clear().Append(quote);
        _escaped = false;
        return Next(next);
    }

    /// <summary>Appends to a string literal; when it closes, decodes it and hands it to <paramref name="read"/>.</summary>
    private ToolCallHeaderMatcher.Result ReadLiteral(char c, Func<string, ToolCallHeaderMatcher.Result> read)
    {
        _literal.Append(c);
        if (_escaped)
        {
            _escaped = false;
            return ToolCallHeaderMatcher.Result.Pending;
        }
        if (c == '\\')
        {
            _escaped = true;
            return ToolCallHeaderMatcher.Result.Pending;
        }
        if (c != '"')
        {
            return c < ' ' ? Fail() : ToolCallHeaderMatcher.Result.Pending; // a raw control character is not JSON
        }
        try
        {
            using var literal = JsonDocument.Parse(_literal.ToString());
            return read(literal.RootElement.GetString()!);
        }
        catch (Exception e) when (e is JsonException or ArgumentException or InvalidOperationException)
        {
            return Fail();
        }
    }

    private ToolCallHeaderMatcher.Result Next(Step step)
    {
        _step = step;
        return ToolCallHeaderMatcher.Result.Pending;
    }

    private ToolCallHeaderMatcher.Result Fail()
    {
        _step = Step.Failed;
        return ToolCallHeaderMatcher.Result.Failed;
    }
}
