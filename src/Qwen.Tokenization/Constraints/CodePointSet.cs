namespace Qwen.Tokenization.Constraints;

/// <summary>
/// An immutable set of Unicode scalar values (U+0000–U+D7FF, U+E000–U+10FFFF) as sorted, disjoint, non-adjacent
/// inclusive ranges. Surrogate code points are never members: the automaton steps over code points decoded from
/// well-formed text, so a negated class or <c>.</c> means "any other scalar value".
/// </summary>
internal sealed class CodePointSet
{
    /// <summary>The largest code point.</summary>
    public const int MaxCodePoint = 0x10FFFF;

    private readonly int[] _bounds; // lo0, hi0, lo1, hi1, ... sorted, disjoint, non-adjacent

    private CodePointSet(int[] bounds) => _bounds = bounds;

    /// <summary>The empty set (what <c>[]</c> matches).</summary>
    public static CodePointSet Empty { get; } = new([]);

    /// <summary>Every scalar value (what <c>[^]</c> matches, and the search prefix and suffix).</summary>
    public static CodePointSet Any { get; } = new([0, 0xD7FF, 0xE000, MaxCodePoint]);

    /// <summary>ECMA-262 <c>\d</c>: ASCII digits only.</summary>
    public static CodePointSet Digit { get; } = FromRanges(('0', '9'));

    /// <summary>ECMA-262 <c>\w</c>: ASCII letters, digits and underscore (no Unicode letters without the i+u flags).</summary>
    public static CodePointSet Word { get; } = FromRanges(('0', '9'), ('A', 'Z'), ('_', '_'), ('a', 'z'));

    /// <summary>ECMA-262 <c>\s</c>: WhiteSpace (TAB, VT, FF, SP, NBSP, ZWNBSP, category Zs) and LineTerminator (LF, CR, LS, PS).</summary>
    public static CodePointSet Space { get; } = FromRanges(
        ('\t', '\r'), (' ', ' '), (0xA0, 0xA0), (0x1680, 0x1680), (0x2000, 0x200A), (0x2028, 0x2029),
        (0x202F, 0x202F), (0x205F, 0x205F), (0x3000, 0x3000), (0xFEFF, 0xFEFF));

    /// <summary>ECMA-262 <c>.</c> without the s flag: any scalar value but the line terminators LF, CR, LS, PS.</summary>
    public static CodePointSet Dot { get; } = FromRanges(('\n', '\n'), ('\r', '\r'), (0x2028, 0x2029)).Complement();

    /// <summary>Whether the set has no member.</summary>
    public bool IsEmpty => _bounds.Length == 0;

    /// <summary>The number of ranges.</summary>
    public int RangeCount => _bounds.Length / 2;

    /// <summary>The lowest member of range <paramref name="i"/>.</summary>
    public int Low(int i) => _bounds[2 * i];

    /// <summary>The highest member of range <paramref name="i"/>.</summary>
    public int High(int i) => _bounds[(2 * i) + 1];

    /// <summary>The set of one code point.</summary>
    public static CodePointSet Single(int codePoint) => FromRanges((codePoint, codePoint));

    /// <summary>The set of <paramref name="lo"/> to <paramref name="hi"/> inclusive, less surrogates.</summary>
    public static CodePointSet Range(int lo, int hi) => FromRanges((lo, hi));

    /// <summary>The union of the given inclusive ranges, less surrogates.</summary>
    public static CodePointSet FromRanges(params (int Lo, int Hi)[] ranges)
    {
        var sorted = ranges.Where(r => r.Lo <= r.Hi).OrderBy(r => r.Lo).ToList();
        var bounds = new List<int>();
        foreach (var (lo, hi) in sorted)
        {
            if (bounds.Count > 0 && lo <= bounds[^1] + 1)
            {
                bounds[^1] = Math.Max(bounds[^1], hi);
            }
            else
            {
                bounds.Add(lo);
                bounds.Add(hi);
            }
        }
        return new CodePointSet([.. bounds]).Intersect(Any);
    }

    /// <summary>Whether <paramref name="codePoint"/> is a member.</summary>
    public bool Contains(int codePoint)
    {
        for (var i = 0; i < _bounds.Length; i += 2)
        {
            if (codePoint < _bounds[i])
            {
                return false;
            }
            if (codePoint <= _bounds[i + 1])
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>The members of either set.</summary>
    public CodePointSet Union(CodePointSet other)
    {
        var ranges = new (int, int)[RangeCount + other.RangeCount];
        for (var i = 0; i < RangeCount; i++)
        {
            ranges[i] = (Low(i), High(i));
        }
        for (var i = 0; i < other.RangeCount; i++)
        {
            ranges[RangeCount + i] = (other.Low(i), other.High(i));
        }
        return FromRanges(ranges);
    }

    /// <summary>The scalar values not in this set.</summary>
    public CodePointSet Complement()
    {
        var bounds = new List<int>();
        var next = 0;
        for (var i = 0; i < _bounds.Length; i += 2)
        {
            if (_bounds[i] > next)
            {
                bounds.Add(next);
                bounds.Add(_bounds[i] - 1);
            }
            next = _bounds[i + 1] + 1;
        }
        if (next <= MaxCodePoint)
        {
            bounds.Add(next);
            bounds.Add(MaxCodePoint);
        }
        return new CodePointSet([.. bounds]).Intersect(Any);
    }

    private CodePointSet Intersect(CodePointSet other)
    {
        var bounds = new List<int>();
        int i = 0, j = 0;
        while (i < _bounds.Length && j < other._bounds.Length)
        {
            var lo = Math.Max(_bounds[i], other._bounds[j]);
            var hi = Math.Min(_bounds[i + 1], other._bounds[j + 1]);
            if (lo <= hi)
            {
                bounds.Add(lo);
                bounds.Add(hi);
            }
            if (_bounds[i + 1] < other._bounds[j + 1])
            {
                i += 2;
            }
            else
            {
                j += 2;
            }
        }
        return new CodePointSet([.. bounds]);
    }
}
