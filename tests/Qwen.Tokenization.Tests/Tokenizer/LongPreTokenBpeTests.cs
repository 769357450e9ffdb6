using System.Text;
using System.Text.Json;
using Microsoft.ML.Tokenizers;
using Qwen.Tokenization.Tokenizer;

namespace Qwen.Tokenization.Tests.Tokenizer;

/// <summary>
/// The O(n log n) byte-level BPE against Microsoft.ML.Tokenizers' own BpeTokenizer (the independent reference, exact
/// against Hugging Face on everything tested) on pre-tokens long enough to take the new path and short enough for the
/// library's quadratic BPE; and the piece-length bound that decides when the new path is needed.
/// </summary>
public sealed class LongPreTokenBpeTests
{
    private static readonly Lazy<(LongPreTokenBpe Ours, BpeTokenizer Library)> Tokenizers = new(() =>
    {
        var vocabPath = Path.Combine(RepoPaths.QwenAssets, "vocab.json");
        var mergesPath = Path.Combine(RepoPaths.QwenAssets, "merges.txt");
        var vocab = JsonSerializer.Deserialize<Dictionary<string, int>>(File.ReadAllBytes(vocabPath))!;
        var merges = File.ReadLines(mergesPath).Where(l => l.Length > 0 && !l.StartsWith("#version", StringComparison.Ordinal)).ToList();
        // The library reads the files itself; its pre-tokenizer hands it the whole text as one pre-token.
        var library = BpeTokenizer.Create(new BpeOptions(vocabPath, mergesPath) { ByteLevel = true, PreTokenizer = new WholeText() });
        return (new LongPreTokenBpe(vocab, merges), library);
    });

    public static TheoryData<string> Kinds => new() { "a-z", "latin-cyrillic-cjk", "letters-emoji", "punctuation", "ab-repeated", "a-repeated", "short-unit-repeated", "any-utf16" };

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Encode_RandomLongPreTokens_EqualLibraryIdForId(string kind)
    {
        var (ours, library) = Tokenizers.Value;
        var random = new Random(kind.Aggregate(20261125, (h, c) => (h * 31) + c)); // string.GetHashCode differs per process
        var failures = new List<string>();
        const int Cases = 30;
        for (var i = 0; i < Cases; i++)
        {
            var length = random.Next(300, 3001);
            var text = (i % 2 == 1 ? " " : "") + Make(kind, random, length);
            var expected = library.EncodeToIds(text).ToArray();
            var actual = new List<int>();
            ours.Encode(text, actual);
            if (!actual.SequenceEqual(expected))
            {
                var at = actual.Zip(expected).TakeWhile(p => p.First == p.Second).Count();
                failures.Add($"{kind} case {i} ({text.Length} units): {expected.Length} ids expected, {actual.Count} got, first difference at id {at}; text starts {JsonSerializer.Serialize(text[..Math.Min(40, text.Length)])}");
            }
        }
        Assert.True(failures.Count == 0, $"{failures.Count} of {Cases} differ:\n{string.Join("\n", failures)}");
    }

    [Fact]
    public void Encode_EmptyAndOneByte_NoIdsAndTheByteToken()
    {
        var (ours, _) = Tokenizers.Value;
        var ids = new List<int>();
        ours.Encode("", ids);
        Assert.Empty(ids);
        ours.Encode("!", ids);
        Assert.Equal([0], ids); // "!" is the first entry of vocab.json
    }

    [Fact]
    public void LongestPieceBound_HandWrittenTexts_SumOfThreeAdjacentRuns()
    {
        Assert.Equal(0, QwenPreTokenizerPattern.LongestPieceBound(""));
        Assert.Equal(3, QwenPreTokenizerPattern.LongestPieceBound("abc"));
        Assert.Equal(5, QwenPreTokenizerPattern.LongestPieceBound("ab cd ef gh")); // "ab", " ", "cd"
        Assert.Equal(9, QwenPreTokenizerPattern.LongestPieceBound("x  !!!!\n\n\ny")); // "  ", "!!!!", "\n\n\n"
        Assert.Equal(4, QwenPreTokenizerPattern.LongestPieceBound("\t\u00A0\u3000\u2028")); // all whitespace: one run
    }

    [Fact]
    public void LongestPieceBound_RandomTexts_AtLeastEveryPieceThePreTokenizerMakes()
    {
        var added = new Dictionary<string, int> { ["<|im_start|>"] = 151644, ["<|im_end|>"] = 151645, ["<tool_call>"] = 151657 };
        var splitter = new DispatchPreTokenizer(QwenPreTokenizerPattern.Qwen2, added);
        var random = new Random(77);
        string[] whitespace = [" ", "\t", "\n", "\r", "\r\n", "\v", "\f", "\u00A0", "\u0085", "\u1680", "\u2028", "\u3000"];
        Func<int, string>[] parts =
        [
            n => string.Concat(Enumerable.Range(0, n).Select(_ => whitespace[random.Next(whitespace.Length)])),
            n => RandomText.FromRanges(random, n, RandomText.LatinCyrillicCjk, RandomText.SupplementaryLetters),
            n => RandomText.FromAlphabet(random, n, RandomText.Punctuation),
            n => RandomText.FromRanges(random, n, RandomText.Emoji, [('0', '9'), (0x1D7CE, 0x1D7FF)]),
            n => RandomText.FromAlphabet(random, n, "'sStTreRvVmMlLdDſ"),
            _ => added.Keys.ElementAt(random.Next(added.Count)),
            n => RandomText.AnyUnits(random, n),
        ];
        var checkedPieces = 0;
        for (var i = 0; i < 2000; i++)
        {
            var sb = new StringBuilder();
            for (var p = random.Next(1, 30); p > 0; p--)
            {
                sb.Append(parts[random.Next(parts.Length)](random.Next(1, 40)));
            }
            var text = sb.ToString();
            var bound = QwenPreTokenizerPattern.LongestPieceBound(text);
            foreach (var (offset, length) in splitter.PreTokenize(text))
            {
                var piece = text.Substring(offset, length);
                Assert.True(length <= bound, $"piece {JsonSerializer.Serialize(piece)} ({length}) is longer than the bound {bound} of {JsonSerializer.Serialize(text)}");
                // The rule the bound rests on: a piece lies in at most three adjacent runs, and if three, the first is whitespace.
                var changes = Enumerable.Range(1, length - 1).Count(k => char.IsWhiteSpace(piece[k]) != char.IsWhiteSpace(piece[k - 1]));
                Assert.True(changes < 2 || (changes == 2 && char.IsWhiteSpace(piece[0])), $"piece {JsonSerializer.Serialize(piece)} spans {changes + 1} runs");
                checkedPieces++;
            }
        }
        Assert.True(checkedPieces > 20_000, $"only {checkedPieces} pieces checked");
    }

    private static string Make(string kind, Random random, int length) => kind switch
    {
        "a-z" => RandomText.FromRanges(random, length, RandomText.AsciiLower),
        "latin-cyrillic-cjk" => RandomText.FromRanges(random, length, RandomText.LatinCyrillicCjk),
        "letters-emoji" => RandomText.FromRanges(random, length, RandomText.AsciiLower, RandomText.AsciiLower, RandomText.LatinCyrillicCjk, RandomText.Emoji, RandomText.SupplementaryLetters),
        "punctuation" => RandomText.FromAlphabet(random, length, RandomText.Punctuation),
        "ab-repeated" => string.Concat(Enumerable.Repeat("ab", length / 2)),
        "a-repeated" => new string('a', length),
        "short-unit-repeated" => Repeat(RandomText.FromAlphabet(random, random.Next(1, 5), "abcxyz!?.-=#"), length),
        "any-utf16" => RandomText.AnyUnits(random, length),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "unknown kind"),
    };

    private static string Repeat(string unit, int length) => string.Concat(Enumerable.Repeat(unit, (length / unit.Length) + 1))[..length];

    /// <summary>One pre-token: the whole text.</summary>
    private sealed class WholeText : PreTokenizer
    {
        public override IEnumerable<(int Offset, int Length)> PreTokenize(string text) => [(0, text.Length)];

        public override IEnumerable<(int Offset, int Length)> PreTokenize(ReadOnlySpan<char> text) => [(0, text.Length)];
    }
}
