using System.Globalization;

namespace Qwen.Tokenization.Constraints;

/// <summary>
/// Parses the supported subset of an ECMA-262 pattern into a <see cref="PatternNode"/> for a whole-string match with
/// search semantics: each top-level alternative gets an any-string prefix unless it starts with <c>^</c> and an
/// any-string suffix unless it ends with <c>$</c>. The pattern is read as code points (a surrogate pair, literal or
/// as two <c>\u</c> escapes, is one), as with the u flag. Unsupported constructs throw
/// <see cref="NotSupportedException"/> naming them; malformed patterns throw <see cref="ArgumentException"/>.
/// </summary>
internal sealed class PatternParser
{
    // Counted repeats expand into copies; past this count the NFA limit would refuse the pattern anyway.
    private const int MaxRepeatCount = 10_000;

    private readonly int[] _cps;
    private int _pos;

    private PatternParser(string pattern)
    {
        var cps = new List<int>(pattern.Length);
        for (var i = 0; i < pattern.Length; i++)
        {
            if (char.IsHighSurrogate(pattern[i]) && i + 1 < pattern.Length && char.IsLowSurrogate(pattern[i + 1]))
            {
                cps.Add(char.ConvertToUtf32(pattern[i], pattern[i + 1]));
                i++;
            }
            else
            {
                cps.Add(pattern[i]);
            }
        }
        _cps = [.. cps];
    }

    /// <summary>The whole-string matcher for <paramref name="pattern"/> under search semantics.</summary>
    public static PatternNode Parse(string pattern)
    {
        var parser = new PatternParser(pattern);
        var choices = new List<PatternNode>();
        while (true)
        {
            var anchoredStart = parser.TryConsume('^');
            var body = parser.ParseSequence(topLevel: true);
            var anchoredEnd = parser.TryConsume('$');
            var parts = new List<PatternNode>(3);
            if (!anchoredStart)
            {
                parts.Add(PatternNode.AnyString());
            }
            parts.Add(body);
            if (!anchoredEnd)
            {
                parts.Add(PatternNode.AnySuffix);
            }
            choices.Add(PatternNode.Sequence(parts));
            if (parser.AtEnd)
            {
                return PatternNode.Alternation(choices);
            }
            if (parser.Peek == ')')
            {
                throw parser.Malformed("unmatched ')'");
            }
            parser._pos++; // '|'
        }
    }

    private bool AtEnd => _pos >= _cps.Length;

    private int Peek => _cps[_pos];

    private bool TryConsume(int c)
    {
        if (!AtEnd && Peek == c)
        {
            _pos++;
            return true;
        }
        return false;
    }

    private PatternNode ParseDisjunction()
    {
        var choices = new List<PatternNode> { ParseSequence(topLevel: false) };
        while (TryConsume('|'))
        {
            choices.Add(ParseSequence(topLevel: false));
        }
        return PatternNode.Alternation(choices);
    }

    private PatternNode ParseSequence(bool topLevel)
    {
        var parts = new List<PatternNode>();
        while (!AtEnd && Peek is not '|' and not ')')
        {
            if (Peek == '$' && topLevel && (_pos + 1 == _cps.Length || _cps[_pos + 1] == '|'))
            {
                break;
            }
            if (Peek is '^' or '$')
            {
                throw new NotSupportedException(
                    $"anchors (^, $) are supported only at the start and end of the pattern or of a top-level alternative (found '{(char)Peek}' at {_pos})");
            }
            var atom = ParseAtom();
            parts.Add(ParseQuantifier(atom));
        }
        return PatternNode.Sequence(parts);
    }

    private PatternNode ParseQuantifier(PatternNode atom)
    {
        if (AtEnd)
        {
            return atom;
        }
        int min, max;
        switch (Peek)
        {
            case '*':
                (min, max) = (0, PatternNode.Unbounded);
                _pos++;
                break;
            case '+':
                (min, max) = (1, PatternNode.Unbounded);
                _pos++;
                break;
            case '?':
                (min, max) = (0, 1);
                _pos++;
                break;
            case '{' when TryParseBraces(out min, out max, out var length):
                _pos += length;
                break;
            default:
                return atom;
        }
        TryConsume('?'); // lazy: the same strings match as a whole
        return PatternNode.Repeat(atom, min, max);
    }

    /// <summary>Reads <c>{n}</c>, <c>{n,}</c> or <c>{n,m}</c> at the cursor without moving it; false when it is a literal brace (Annex B).</summary>
    private bool TryParseBraces(out int min, out int max, out int length)
    {
        min = max = length = 0;
        var i = _pos + 1;
        if (!TryReadNumber(ref i, out min))
        {
            return false;
        }
        max = min;
        if (i < _cps.Length && _cps[i] == ',')
        {
            i++;
            max = PatternNode.Unbounded;
            if (i < _cps.Length && _cps[i] is >= '0' and <= '9' && !TryReadNumber(ref i, out max))
            {
                return false;
            }
        }
        if (i >= _cps.Length || _cps[i] != '}')
        {
            return false;
        }
        length = i + 1 - _pos;
        if (max != PatternNode.Unbounded && max < min)
        {
            throw Malformed($"quantifier range out of order {{{min},{max}}}");
        }
        if (Math.Max(min, max) > MaxRepeatCount)
        {
            throw new NotSupportedException($"counted repeats above {MaxRepeatCount} are not supported (given {{{min},{max}}})");
        }
        return true;
    }

    private bool TryReadNumber(ref int i, out int value)
    {
        value = 0;
        var start = i;
        while (i < _cps.Length && _cps[i] is >= '0' and <= '9')
        {
            value = (int)Math.Min((long)value * 10 + (_cps[i] - '0'), int.MaxValue);
            i++;
        }
        return i > start;
    }

    private PatternNode ParseAtom()
    {
        var c = Peek;
        switch (c)
        {
            case '(':
                return ParseGroup();
            case '[':
                _pos++;
                return PatternNode.OneOf(ParseClass());
            case '.':
                _pos++;
                return PatternNode.OneOf(CodePointSet.Dot);
            case '\\':
                _pos++;
                var (codePoint, set) = ParseEscape(inClass: false);
                return PatternNode.OneOf(set ?? CodePointSet.Single(codePoint));
            case '*' or '+' or '?':
                throw Malformed($"nothing to repeat before '{(char)c}'");
            case '{' when TryParseBraces(out _, out _, out _):
                throw Malformed("nothing to repeat before '{'");
            default:
                _pos++;
                return PatternNode.OneOf(CodePointSet.Single(c));
        }
    }

    private PatternNode ParseGroup()
    {
        var open = _pos;
        _pos++; // '('
        if (TryConsume('?'))
        {
            if (TryConsume(':'))
            {
                // non-capturing group
            }
            else if (!AtEnd && Peek is '=' or '!')
            {
                throw new NotSupportedException($"lookahead assertions (?= and (?! are not supported (at {open})");
            }
            else if (TryConsume('<'))
            {
                if (!AtEnd && Peek is '=' or '!')
                {
                    throw new NotSupportedException($"lookbehind assertions (?<= and (?<! are not supported (at {open})");
                }
                // A named group matches like a plain group; the name only matters to backreferences, which are refused.
                var nameStart = _pos;
                while (!AtEnd && Peek != '>' && (Peek == '_' || Peek == '$' || char.IsAsciiLetterOrDigit((char)Math.Min(Peek, 0xFFFF)) || Peek > 0x7F))
                {
                    _pos++;
                }
                if (_pos == nameStart || !TryConsume('>'))
                {
                    throw Malformed($"invalid group name at {open}");
                }
            }
            else
            {
                throw new NotSupportedException($"inline flags and modifiers (?...) are not supported (at {open})");
            }
        }
        var body = ParseDisjunction();
        if (!TryConsume(')'))
        {
            throw Malformed($"unterminated group opened at {open}");
        }
        return body;
    }

    private CodePointSet ParseClass()
    {
        var open = _pos - 1;
        var negated = TryConsume('^');
        var set = CodePointSet.Empty;
        while (true)
        {
            if (AtEnd)
            {
                throw Malformed($"unterminated character class opened at {open}");
            }
            if (TryConsume(']'))
            {
                break;
            }
            var (first, firstSet) = ParseClassAtom();
            if (!AtEnd && Peek == '-' && _pos + 1 < _cps.Length && _cps[_pos + 1] != ']')
            {
                _pos++; // '-'
                var (last, lastSet) = ParseClassAtom();
                if (firstSet is null && lastSet is null)
                {
                    if (first > last)
                    {
                        throw Malformed($"character class range out of order at {open}");
                    }
                    set = set.Union(CodePointSet.Range(first, last));
                }
                else
                {
                    // Annex B: a class escape at either end makes '-' a literal.
                    set = set.Union(firstSet ?? CodePointSet.Single(first)).Union(CodePointSet.Single('-'))
                        .Union(lastSet ?? CodePointSet.Single(last));
                }
            }
            else
            {
                set = set.Union(firstSet ?? CodePointSet.Single(first));
            }
        }
        return negated ? set.Complement() : set;
    }

    /// <summary>One class member: a code point, or a set for <c>\d</c> and the like.</summary>
    private (int CodePoint, CodePointSet? Set) ParseClassAtom()
    {
        var c = Peek;
        _pos++;
        if (c != '\\')
        {
            return (c, null);
        }
        return ParseEscape(inClass: true);
    }

    /// <summary>The escape after a backslash (already consumed): one code point, or a set for <c>\d</c> and the like.</summary>
    private (int CodePoint, CodePointSet? Set) ParseEscape(bool inClass)
    {
        if (AtEnd)
        {
            throw Malformed("pattern ends with a lone backslash");
        }
        var at = _pos - 1;
        var c = Peek;
        _pos++;
        switch (c)
        {
            case 'd': return (-1, CodePointSet.Digit);
            case 'D': return (-1, CodePointSet.Digit.Complement());
            case 'w': return (-1, CodePointSet.Word);
            case 'W': return (-1, CodePointSet.Word.Complement());
            case 's': return (-1, CodePointSet.Space);
            case 'S': return (-1, CodePointSet.Space.Complement());
            case 'n': return ('\n', null);
            case 't': return ('\t', null);
            case 'r': return ('\r', null);
            case 'f': return ('\f', null);
            case 'v': return ('\v', null);
            case 'b' when inClass: return ('\b', null);
            case 'b' or 'B':
                throw new NotSupportedException($"word boundary assertions (\\b, \\B) are not supported (at {at})");
            case >= '1' and <= '9':
                throw new NotSupportedException($"backreferences (\\{(char)c}) are not supported (at {at})");
            case 'k':
                throw new NotSupportedException($"named backreferences (\\k<...>) are not supported (at {at})");
            case 'p' or 'P':
                throw new NotSupportedException($"Unicode property escapes (\\{(char)c}{{...}}) are not supported (at {at})");
            case '0':
                if (!AtEnd && Peek is >= '0' and <= '9')
                {
                    throw new NotSupportedException($"octal escapes (\\0{(char)Peek}) are not supported (at {at})");
                }
                return (0, null);
            case 'c':
                if (!AtEnd && char.IsAsciiLetter((char)Math.Min(Peek, 0xFFFF)))
                {
                    return (_cps[_pos++] % 32, null);
                }
                throw Malformed($"\\c must be followed by an ASCII letter (at {at})");
            case 'x':
                return (ReadHex(2, at), null);
            case 'u':
                return (ParseUnicodeEscape(at), null);
            default:
                if (c < 0x80 && char.IsAsciiLetterOrDigit((char)c))
                {
                    throw new NotSupportedException($"the escape \\{(char)c} is not supported (at {at})");
                }
                return (c, null); // identity escape: \. \\ \/ \- \$ ...
        }
    }

    /// <summary><c>\uXXXX</c> (joining an escaped surrogate pair into one code point) or <c>\u{X...}</c>.</summary>
    private int ParseUnicodeEscape(int at)
    {
        if (TryConsume('{'))
        {
            var start = _pos;
            while (!AtEnd && Peek != '}')
            {
                _pos++;
            }
            if (AtEnd || _pos == start || !int.TryParse(
                    string.Concat(_cps[start.._pos].Select(cp => (char)Math.Min(cp, 0xFFFF))), NumberStyles.AllowHexSpecifier,
                    CultureInfo.InvariantCulture, out var value) || value > CodePointSet.MaxCodePoint)
            {
                throw Malformed($"invalid \\u{{...}} escape at {at}");
            }
            _pos++; // '}'
            return value;
        }
        var unit = ReadHex(4, at);
        if (char.IsHighSurrogate((char)unit) && _pos + 5 < _cps.Length && _cps[_pos] == '\\' && _cps[_pos + 1] == 'u')
        {
            var save = _pos;
            _pos += 2;
            if (TryReadHex(4, out var low) && char.IsLowSurrogate((char)low))
            {
                return char.ConvertToUtf32((char)unit, (char)low);
            }
            _pos = save;
        }
        return unit; // a lone surrogate: never equal to a decoded code point, so it matches nothing
    }

    private int ReadHex(int digits, int at)
        => TryReadHex(digits, out var value) ? value : throw Malformed($"invalid hexadecimal escape at {at}");

    private bool TryReadHex(int digits, out int value)
    {
        value = 0;
        if (_pos + digits > _cps.Length)
        {
            return false;
        }
        for (var i = 0; i < digits; i++)
        {
            var d = _cps[_pos + i];
            var v = d is >= '0' and <= '9' ? d - '0' : d is >= 'a' and <= 'f' ? d - 'a' + 10 : d is >= 'A' and <= 'F' ? d - 'A' + 10 : -1;
            if (v < 0)
            {
                return false;
            }
            value = (value * 16) + v;
        }
        _pos += digits;
        return true;
    }

    private ArgumentException Malformed(string what) => new($"invalid pattern: {what}", "ecmaPattern");
}
