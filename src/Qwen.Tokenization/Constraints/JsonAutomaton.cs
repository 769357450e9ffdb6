namespace Qwen.Tokenization.Constraints;

/// <summary>
/// A byte-level recognizer of the prefixes of one JSON text (RFC 8259), as a 16-byte value: copy it to explore, keep
/// the copy that accepted. It accepts a byte only when the bytes so far can still be completed to a valid text, so a
/// generator that only emits accepted bytes can always finish. Stricter than the RFC where lax JSON breaks consumers:
/// strings must be well-formed UTF-8 (no overlongs, no encoded surrogates) and <c>\u</c> escapes must pair surrogates
/// (System.Text.Json parses either, then throws when the string is read); nesting stops at <see cref="MaxDepth"/>;
/// a run of whitespace outside strings stops at <see cref="MaxWhitespaceRun"/> bytes, so a model cannot loop on
/// spaces or newlines forever (inside strings anything goes: only max_tokens bounds a string's length).
/// </summary>
public struct JsonAutomaton : IEquatable<JsonAutomaton>
{
    /// <summary>The deepest nesting of arrays and objects accepted (the root container is depth 1).</summary>
    public const int MaxDepth = 32;

    /// <summary>The longest run of whitespace accepted between tokens (leading and trailing whitespace included).</summary>
    public const int MaxWhitespaceRun = 16;

    private ulong _objects; // bit d set: the container at depth d+1 is an object (else an array)
    private State _state;
    private byte _depth;
    private byte _whitespace; // length of the current whitespace run
    private byte _aux; // in a literal: index of the next expected byte in LiteralTails; in a string: 1 when it is a key

    private enum State : byte
    {
        StartValue, // before the root value, any kind
        StartObject, // before the root value, which must be an object
        Value, // after ':' or an array's ','
        ValueOrArrayEnd, // after '['
        KeyOrObjectEnd, // after '{'
        Key, // after an object's ','
        Colon, // after a key
        AfterValue, // after a value inside a container: ',' or the closer
        Done, // the root value is complete; only whitespace may follow
        Literal, // inside true / false / null
        NumMinus, NumZero, NumInt, NumDot, NumFrac, NumE, NumExpSign, NumExp,
        String, StringEscape,
        Hex1, Hex2, Hex2AfterD, Hex3, Hex4, // \uXXXX; after \uD the second digit decides surrogate or not
        HighHex3, HighHex4, LowBackslash, LowU, LowD, LowSecond, // \uD800-\uDBFF must be followed by \uDC00-\uDFFF
        Cont1, Cont2, Cont2AfterE0, Cont2AfterED, Cont3, Cont3AfterF0, Cont3AfterF4, // UTF-8 continuation bytes still due
    }

    /// <summary>The bytes after the first of <c>true</c>, <c>false</c>, <c>null</c>, each ended by 0.</summary>
    private static ReadOnlySpan<byte> LiteralTails => "rue\0alse\0ull\0"u8;

    /// <summary>An automaton for any JSON value (object, array, string, number, true, false, null).</summary>
    public static JsonAutomaton ForValue() => new() { _state = State.StartValue };

    /// <summary>An automaton for a JSON object (what <c>response_format: json_object</c> and tool arguments require).</summary>
    public static JsonAutomaton ForObject() => new() { _state = State.StartObject };

    /// <summary>Whether the bytes so far are a complete JSON text (more whitespace, or digits after a root number, may still follow).</summary>
    public readonly bool IsComplete
        => _state == State.Done || (_depth == 0 && _state is State.NumZero or State.NumInt or State.NumFrac or State.NumExp);

    /// <summary>Whether the automaton is inside a string between characters (not in an escape or a UTF-8 sequence).</summary>
    public readonly bool IsInStringBody => _state == State.String;

    /// <summary>Consumes <paramref name="b"/> if some valid JSON text continues the bytes so far with it; otherwise returns false and stays unchanged.</summary>
    public bool TryAccept(byte b)
    {
        var next = this;
        if (!next.Step(b))
        {
            return false;
        }
        this = next;
        return true;
    }

    /// <summary>Consumes all of <paramref name="bytes"/> if they continue the text validly; otherwise returns false and stays unchanged.</summary>
    public bool TryAccept(ReadOnlySpan<byte> bytes)
    {
        var next = this;
        foreach (var b in bytes)
        {
            if (!next.Step(b))
            {
                return false;
            }
        }
        this = next;
        return true;
    }

    /// <summary>Whether both automata are in the same state (equal states accept the same continuations).</summary>
    public readonly bool Equals(JsonAutomaton other)
        => _objects == other._objects && _state == other._state && _depth == other._depth && _whitespace == other._whitespace && _aux == other._aux;

    /// <inheritdoc/>
    public override readonly bool Equals(object? obj) => obj is JsonAutomaton other && Equals(other);

    /// <inheritdoc/>
    public override readonly int GetHashCode() => HashCode.Combine(_objects, _state, _depth, _whitespace, _aux);

    /// <summary>Whether two automata are in the same state.</summary>
    public static bool operator ==(JsonAutomaton left, JsonAutomaton right) => left.Equals(right);

    /// <summary>Whether two automata are in different states.</summary>
    public static bool operator !=(JsonAutomaton left, JsonAutomaton right) => !left.Equals(right);

    /// <summary>Consumes one byte; on false the state is garbage and the caller must drop this copy (the grammar walker works on copies).</summary>
    internal bool Step(byte b)
    {
        switch (_state)
        {
            case State.String:
                switch (b)
                {
                    case (byte)'"':
                        _state = _aux == 1 ? State.Colon : AfterValueState();
                        _aux = 0;
                        return true;
                    case (byte)'\\':
                        _state = State.StringEscape;
                        return true;
                    case < 0x20:
                        return false;
                    case < 0x80:
                        return true;
                    default:
                        return StartUtf8(b);
                }
            case State.StringEscape:
                switch (b)
                {
                    case (byte)'"' or (byte)'\\' or (byte)'/' or (byte)'b' or (byte)'f' or (byte)'n' or (byte)'r' or (byte)'t':
                        _state = State.String;
                        return true;
                    case (byte)'u':
                        _state = State.Hex1;
                        return true;
                    default:
                        return false;
                }
            case State.Hex1:
                return IsHex(b) && Go(b is (byte)'D' or (byte)'d' ? State.Hex2AfterD : State.Hex2);
            case State.Hex2AfterD:
                // \uD8xx-\uDBxx opens a surrogate pair; \uDCxx-\uDFxx alone is a lone low surrogate.
                return b switch
                {
                    >= (byte)'0' and <= (byte)'7' => Go(State.Hex3),
                    (byte)'8' or (byte)'9' or (byte)'A' or (byte)'B' or (byte)'a' or (byte)'b' => Go(State.HighHex3),
                    _ => false,
                };
            case State.Hex2:
                return IsHex(b) && Go(State.Hex3);
            case State.Hex3:
                return IsHex(b) && Go(State.Hex4);
            case State.Hex4:
                return IsHex(b) && Go(State.String);
            case State.HighHex3:
                return IsHex(b) && Go(State.HighHex4);
            case State.HighHex4:
                return IsHex(b) && Go(State.LowBackslash);
            case State.LowBackslash:
                return b == '\\' && Go(State.LowU);
            case State.LowU:
                return b == 'u' && Go(State.LowD);
            case State.LowD:
                return b is (byte)'D' or (byte)'d' && Go(State.LowSecond);
            case State.LowSecond:
                return b is (>= (byte)'C' and <= (byte)'F') or (>= (byte)'c' and <= (byte)'f') && Go(State.Hex3);
            case State.Cont1:
                return b is >= 0x80 and <= 0xBF && Go(State.String);
            case State.Cont2:
                return b is >= 0x80 and <= 0xBF && Go(State.Cont1);
            case State.Cont2AfterE0:
                return b is >= 0xA0 and <= 0xBF && Go(State.Cont1); // no overlong 3-byte forms
            case State.Cont2AfterED:
                return b is >= 0x80 and <= 0x9F && Go(State.Cont1); // no UTF-16 surrogates
            case State.Cont3:
                return b is >= 0x80 and <= 0xBF && Go(State.Cont2);
            case State.Cont3AfterF0:
                return b is >= 0x90 and <= 0xBF && Go(State.Cont2); // no overlong 4-byte forms
            case State.Cont3AfterF4:
                return b is >= 0x80 and <= 0x8F && Go(State.Cont2); // nothing above U+10FFFF
            case State.Literal:
                if (b != LiteralTails[_aux])
                {
                    return false;
                }
                _aux++;
                if (LiteralTails[_aux] == 0)
                {
                    _aux = 0;
                    _state = AfterValueState();
                }
                return true;
            case State.NumMinus:
                return b == '0' ? Go(State.NumZero) : IsDigit(b) && Go(State.NumInt);
            case State.NumZero:
                return b == '.' ? Go(State.NumDot) : b is (byte)'e' or (byte)'E' ? Go(State.NumE) : EndNumber(b);
            case State.NumInt:
                return IsDigit(b) || (b == '.' ? Go(State.NumDot) : b is (byte)'e' or (byte)'E' ? Go(State.NumE) : EndNumber(b));
            case State.NumDot:
                return IsDigit(b) && Go(State.NumFrac);
            case State.NumFrac:
                return IsDigit(b) || (b is (byte)'e' or (byte)'E' ? Go(State.NumE) : EndNumber(b));
            case State.NumE:
                return b is (byte)'+' or (byte)'-' ? Go(State.NumExpSign) : IsDigit(b) && Go(State.NumExp);
            case State.NumExpSign:
                return IsDigit(b) && Go(State.NumExp);
            case State.NumExp:
                return IsDigit(b) || EndNumber(b);
            default:
                return Structural(b);
        }
    }

    private bool Structural(byte b)
    {
        if (b is (byte)' ' or (byte)'\t' or (byte)'\n' or (byte)'\r')
        {
            if (_whitespace == MaxWhitespaceRun)
            {
                return false;
            }
            _whitespace++;
            return true;
        }
        _whitespace = 0;
        switch (_state)
        {
            case State.StartValue or State.Value:
                return BeginValue(b);
            case State.StartObject:
                return b == '{' && Push(isObject: true);
            case State.ValueOrArrayEnd:
                return b == ']' ? Pop() : BeginValue(b);
            case State.KeyOrObjectEnd:
                return b == '}' ? Pop() : BeginKey(b);
            case State.Key:
                return BeginKey(b);
            case State.Colon:
                return b == ':' && Go(State.Value);
            case State.AfterValue:
                var inObject = ((_objects >> (_depth - 1)) & 1) != 0;
                return b switch
                {
                    (byte)',' => Go(inObject ? State.Key : State.Value),
                    (byte)'}' => inObject && Pop(),
                    (byte)']' => !inObject && Pop(),
                    _ => false,
                };
            default: // Done
                return false;
        }
    }

    private bool BeginValue(byte b)
    {
        switch (b)
        {
            case (byte)'{':
                return Push(isObject: true);
            case (byte)'[':
                return Push(isObject: false);
            case (byte)'"':
                _aux = 0;
                return Go(State.String);
            case (byte)'-':
                return Go(State.NumMinus);
            case (byte)'0':
                return Go(State.NumZero);
            case >= (byte)'1' and <= (byte)'9':
                return Go(State.NumInt);
            case (byte)'t':
                _aux = 0;
                return Go(State.Literal);
            case (byte)'f':
                _aux = 4;
                return Go(State.Literal);
            case (byte)'n':
                _aux = 9;
                return Go(State.Literal);
            default:
                return false;
        }
    }

    private bool BeginKey(byte b)
    {
        if (b != '"')
        {
            return false;
        }
        _aux = 1;
        return Go(State.String);
    }

    private bool Push(bool isObject)
    {
        if (_depth == MaxDepth)
        {
            return false;
        }
        var bit = 1UL << _depth;
        _objects = isObject ? _objects | bit : _objects & ~bit;
        _depth++;
        return Go(isObject ? State.KeyOrObjectEnd : State.ValueOrArrayEnd);
    }

    private bool Pop()
    {
        _depth--;
        return Go(AfterValueState());
    }

    /// <summary>A number ends at the first byte that cannot continue it; that byte is then read as what follows the value.</summary>
    private bool EndNumber(byte b)
    {
        _state = AfterValueState();
        return Structural(b);
    }

    private readonly State AfterValueState() => _depth == 0 ? State.Done : State.AfterValue;

    private bool StartUtf8(byte lead)
    {
        _state = lead switch
        {
            >= 0xC2 and <= 0xDF => State.Cont1,
            0xE0 => State.Cont2AfterE0,
            0xED => State.Cont2AfterED,
            >= 0xE1 and <= 0xEF => State.Cont2,
            0xF0 => State.Cont3AfterF0,
            >= 0xF1 and <= 0xF3 => State.Cont3,
            0xF4 => State.Cont3AfterF4,
            _ => State.String, // 0x80-0xC1 and 0xF5-0xFF never start a character
        };
        return _state != State.String;
    }

    private bool Go(State next)
    {
        _state = next;
        return true;
    }

    private static bool IsDigit(byte b) => b is >= (byte)'0' and <= (byte)'9';

    private static bool IsHex(byte b) => b is (>= (byte)'0' and <= (byte)'9') or (>= (byte)'a' and <= (byte)'f') or (>= (byte)'A' and <= (byte)'F');
}
