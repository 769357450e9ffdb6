using System.Text;

namespace Qwen.Tokenization.Tests.Tokenizer;

/// <summary>Seeded random strings for the long-pre-token tests: code points drawn from ranges, emitted as UTF-16.</summary>
internal static class RandomText
{
    public static readonly (int From, int To)[] AsciiLower = [('a', 'z')];
    public static readonly (int From, int To)[] LatinCyrillicCjk = [('A', 'Z'), ('a', 'z'), (0xC0, 0xD6), (0xD8, 0xF6), (0x100, 0x17F), (0x410, 0x44F), (0x4E00, 0x9FFF)];
    public static readonly (int From, int To)[] Emoji = [(0x1F300, 0x1F64F), (0x1F900, 0x1F9FF)];
    public static readonly (int From, int To)[] SupplementaryLetters = [(0x1D400, 0x1D433), (0x20000, 0x2A6DF)];

    /// <summary>ASCII and a few non-ASCII symbols: what the ` ?[^\s\p{L}\p{N}]+` branch takes as one run.</summary>
    public const string Punctuation = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~—…。，、！？«»•€";

    /// <summary><paramref name="length"/> UTF-16 units (a pair is not split at the end: the string may be one unit shorter).</summary>
    public static string FromRanges(Random random, int length, params (int From, int To)[][] sets)
    {
        var sb = new StringBuilder(length + 1);
        while (sb.Length < length)
        {
            var set = sets[random.Next(sets.Length)];
            var (from, to) = set[random.Next(set.Length)];
            var codePoint = random.Next(from, to + 1);
            if (codePoint > 0xFFFF && sb.Length + 2 > length)
            {
                continue;
            }
            sb.Append(char.ConvertFromUtf32(codePoint));
        }
        return sb.ToString();
    }

    /// <summary>Units drawn from <paramref name="alphabet"/>.</summary>
    public static string FromAlphabet(Random random, int length, string alphabet)
    {
        var chars = new char[length];
        for (var i = 0; i < length; i++)
        {
            chars[i] = alphabet[random.Next(alphabet.Length)];
        }
        return new string(chars);
    }

    /// <summary>Any UTF-16 units, lone surrogates included.</summary>
    public static string AnyUnits(Random random, int length)
    {
        var chars = new char[length];
        for (var i = 0; i < length; i++)
        {
            chars[i] = (char)random.Next(0x10000);
        }
        return new string(chars);
    }
}
