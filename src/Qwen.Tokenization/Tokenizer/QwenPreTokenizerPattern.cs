using System.Globalization;
using System.Text;

namespace Qwen.Tokenization.Tokenizer;

/// <summary>
/// Rewrites the Qwen2 pre-tokenizer regex (an Oniguruma pattern from tokenizer.json) for .NET, whose regex engine
/// matches UTF-16 code units: \p{L} and \p{N} are widened with the supplementary-plane letters and digits as
/// surrogate pairs, the negated classes take one whole code point, and (?i:'s) also matches 'ſ as Oniguruma does.
/// See shared notes/ml-tokenizers-2.0.1-qwen2.5.md for each trap and its measurement.
/// </summary>
internal static class QwenPreTokenizerPattern
{
    /// <summary>The Qwen2 pattern, used only when the model directory has no tokenizer.json to state it.</summary>
    public const string Qwen2 = @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    /// <summary>Returns the .NET form of <paramref name="pattern"/> with the surrogate-aware classes.</summary>
    public static string Widen(string pattern)
    {
        var letters = SupplementaryClass(c => c is >= UnicodeCategory.UppercaseLetter and <= UnicodeCategory.OtherLetter);
        var digits = SupplementaryClass(c => c is >= UnicodeCategory.DecimalDigitNumber and <= UnicodeCategory.OtherNumber);
        var sl = $"(?=[\\uD800-\\uDBFF])(?:{letters})";
        var sn = $"(?=[\\uD800-\\uDBFF])(?:{digits})";
        const string lone = @"[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]";
        var otherPair = $"(?!{sl}|{sn})[\\uD800-\\uDBFF][\\uDC00-\\uDFFF]";
        var other = $"(?:[^\\s\\p{{L}}\\p{{N}}\\uD800-\\uDFFF]|{otherPair}|{lone})";
        var otherNoNewline = $"(?:[^\\r\\n\\p{{L}}\\p{{N}}\\uD800-\\uDFFF]|{otherPair}|{lone})";
        return pattern
            .Replace("(?i:'s|'t|'re|'ve|'m|'ll|'d)", "'[sSſ]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD]", StringComparison.Ordinal)
            .Replace(@"[^\r\n\p{L}\p{N}]", "\u0001", StringComparison.Ordinal)
            .Replace(@"[^\s\p{L}\p{N}]", "\u0002", StringComparison.Ordinal)
            .Replace(@"\p{L}", $"(?:\\p{{L}}|{sl})", StringComparison.Ordinal)
            .Replace(@"\p{N}", $"(?:\\p{{N}}|{sn})", StringComparison.Ordinal)
            .Replace("\u0001", otherNoNewline, StringComparison.Ordinal)
            .Replace("\u0002", other, StringComparison.Ordinal);
    }

    /// <summary>Whether <paramref name="text"/> can be split with the original pattern (no surrogates, no 'ſ'): there the two engines agree.</summary>
    public static bool IsBmpSafe(ReadOnlySpan<char> text)
    {
        foreach (var c in text)
        {
            if (char.IsSurrogate(c) || c == 'ſ')
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>
    /// An upper bound on the length of every piece the Qwen2 pattern (original or widened) splits
    /// <paramref name="text"/> into: the longest sum of three adjacent runs of whitespace / non-whitespace. Every branch
    /// matches inside one whitespace run, the non-whitespace run after it and the whitespace run after that (a
    /// one-character prefix, then letters; an optional space, symbols, newlines; whitespace alone; the rest inside one
    /// run), and splitting out added tokens only shortens pieces. .NET's <c>\s</c> is exactly <c>char.IsWhiteSpace</c>.
    /// </summary>
    public static int LongestPieceBound(ReadOnlySpan<char> text)
    {
        int before = 0, previous = 0, current = 0, longest = 0; // lengths of the last three runs, the last one open
        var space = false;
        for (var i = 0; i < text.Length; i++)
        {
            if (char.IsWhiteSpace(text[i]) != space && i > 0)
            {
                (before, previous, current) = (previous, current, 0);
            }
            space = char.IsWhiteSpace(text[i]);
            current++;
            longest = Math.Max(longest, before + previous + current);
        }
        return longest;
    }

    /// <summary>An alternation of surrogate pairs for the supplementary code points that satisfy <paramref name="predicate"/>.</summary>
    private static string SupplementaryClass(Func<UnicodeCategory, bool> predicate)
    {
        var sb = new StringBuilder();
        for (var high = 0xD800; high <= 0xDBFF; high++)
        {
            var ranges = new List<(int Start, int End)>();
            for (var low = 0xDC00; low <= 0xDFFF; low++)
            {
                var codePoint = 0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00);
                if (!predicate(Rune.GetUnicodeCategory(new Rune(codePoint))))
                {
                    continue;
                }
                if (ranges.Count > 0 && ranges[^1].End == low - 1)
                {
                    ranges[^1] = (ranges[^1].Start, low);
                }
                else
                {
                    ranges.Add((low, low));
                }
            }
            if (ranges.Count == 0)
            {
                continue;
            }
            sb.Append(sb.Length > 0 ? "|" : "").Append(CultureInfo.InvariantCulture, $"\\u{high:X4}[");
            foreach (var (start, end) in ranges)
            {
                sb.Append("\\u").Append(start.ToString("X4", CultureInfo.InvariantCulture));
                if (end != start)
                {
                    sb.Append("-\\u").Append(end.ToString("X4", CultureInfo.InvariantCulture));
                }
            }
            sb.Append(']');
        }
        return sb.ToString();
    }
}
