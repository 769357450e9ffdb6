using System.Text;
using System.Text.Json;

namespace Qwen.Tokenization.ToolCalls;

/// <summary>
/// Recognises, one character at a time, the start of a block body that commits it as a call:
/// ws <c>{</c> ws <c>"name"</c> ws <c>:</c> ws (a non-empty JSON string) ws <c>,</c> ws <c>"arguments"</c> ws <c>:</c> ws <c>{</c>.
/// It answers <see cref="Result.Committed"/> on that last <c>{</c> and <see cref="Result.Failed"/> as soon as the body
/// cannot be that (keys in another order, another key first, arguments not an object, not JSON).
/// </summary>
internal sealed class ToolCallHeaderMatcher
{
    private const string NameKey = "\"name\"";
    private const string ArgumentsKey = "\"arguments\"";

    private readonly StringBuilder _name = new(); // the name's JSON string literal, quotes included
    private Step _step;
    private int _matched; // characters of the current key matched
    private bool _escaped;

    /// <summary>The outcome after a character.</summary>
    public enum Result
    {
        /// <summary>Still a possible call header.</summary>
        Pending,

        /// <summary>Not a call header (sticky until <see cref="Reset"/>).</summary>
        Failed,

        /// <summary>The character was the <c>{</c> that opens the arguments object.</summary>
        Committed,
    }

    private enum Step { BeforeObject, BeforeNameKey, NameKey, BeforeNameColon, BeforeName, Name, AfterName, BeforeArgumentsKey, ArgumentsKey, BeforeArgumentsColon, BeforeArguments, Failed }

    /// <summary>The decoded function name, once committed.</summary>
    public string Name { get; private set; } = string.Empty;

    /// <summary>
    /// The name as far as it was written: whole once read, else the decodable part of its string literal so far
    /// ("" before the literal began). A forced call cut short is named from it.
    /// </summary>
    public string PartialName
    {
        get
        {
            if (Name.Length > 0 || _name.Length < 2)
            {
                return Name;
            }
            var raw = _name.ToString(1, _name.Length - 1);
            // A cut may fall inside an escape (\u00e): drop its characters until the rest decodes (an escape is at most 6).
            for (var cut = 0; cut <= Math.Min(6, raw.Length); cut++)
            {
                try
                {
                    using var literal = JsonDocument.Parse("\"" + raw[..^cut] + "\"");
                    return literal.RootElement.GetString()!;
                }
                catch (Exception e) when (e is JsonException or ArgumentException or InvalidOperationException)
                {
                }
            }
            return string.Empty;
        }
    }

    /// <summary>Starts over for a new block.</summary>
    public void Reset()
    {
        _step = Step.BeforeObject;
        _matched = 0;
        _escaped = false;
        _name.Clear();
        Name = string.Empty;
    }

    /// <summary>Consumes one character of the block body.</summary>
    public Result Push(char c)
    {
        if (ToolCallBlock.IsJsonWhitespace(c) && _step is not (Step.NameKey or Step.Name or Step.ArgumentsKey or Step.Failed))
        {
            return Result.Pending; // whitespace between JSON tokens
        }
        switch (_step)
        {
            case Step.BeforeObject: return Expect(c == '{', Step.BeforeNameKey);
            case Step.BeforeNameKey: return StartKey(c, NameKey, Step.NameKey);
            case Step.NameKey: return MatchKey(c, NameKey, Step.BeforeNameColon);
            case Step.BeforeNameColon: return Expect(c == ':', Step.BeforeName);
            case Step.BeforeName:
                _name.Append(c);
                return Expect(c == '"', Step.Name);
            case Step.Name: return PushName(c);
            case Step.AfterName: return Expect(c == ',', Step.BeforeArgumentsKey);
            case Step.BeforeArgumentsKey: return StartKey(c, ArgumentsKey, Step.ArgumentsKey);
            case Step.ArgumentsKey: return MatchKey(c, ArgumentsKey, Step.BeforeArgumentsColon);
            case Step.BeforeArgumentsColon: return Expect(c == ':', Step.BeforeArguments);
            case Step.BeforeArguments: return c == '{' ? Result.Committed : Fail();
            default: return Result.Failed;
        }
    }

    private Result Expect(bool ok, Step next)
    {
        if (!ok)
        {
            return Fail();
        }
        _step = next;
        return Result.Pending;
    }

    private Result StartKey(char c, string key, Step next)
    {
        _matched = 1;
        return Expect(c == key[0], next);
    }

    private Result MatchKey(char c, string key, Step next)
    {
        if (c != key[_matched])
        {
            return Fail();
        }
        if (++_matched == key.Length)
        {
            _step = next;
        }
        return Result.Pending;
    }

    private Result PushName(char c)
    {
        _name.Append(c);
        if (_escaped)
        {
            _escaped = false;
            return Result.Pending;
        }
        if (c == '\\')
        {
            _escaped = true;
            return Result.Pending;
        }
        if (c != '"')
        {
            return c < ' ' ? Fail() : Result.Pending; // a raw control character is not valid JSON
        }
        // The literal is complete: decode it (invalid escapes fail); an empty name is not a call.
        try
        {
            using var literal = JsonDocument.Parse(_name.ToString());
            Name = literal.RootElement.GetString()!;
        }
        catch (Exception e) when (e is JsonException or ArgumentException or InvalidOperationException)
        {
            return Fail();
        }
        return Expect(Name.Length > 0, Step.AfterName);
    }

    private Result Fail()
    {
        _step = Step.Failed;
        return Result.Failed;
    }
}
