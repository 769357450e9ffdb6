namespace Qwen.Tokenization.Tokenizer;

/// <summary>GPT-2's byte-level alphabet, which Qwen2's vocabulary is written in: printable bytes stand for themselves, the rest for U+0100 onwards.</summary>
internal static class ByteLevelAlphabet
{
    /// <summary>Byte -> the character that stands for it in vocabulary entries.</summary>
    public static IReadOnlyList<char> Chars { get; } = Build();

    private static char[] Build()
    {
        var chars = new char[256];
        var next = 256;
        for (var b = 0; b < 256; b++)
        {
            var printable = b is >= 33 and <= 126 or >= 161 and <= 172 or >= 174 and <= 255;
            chars[b] = (char)(printable ? b : next++);
        }
        return chars;
    }
}
