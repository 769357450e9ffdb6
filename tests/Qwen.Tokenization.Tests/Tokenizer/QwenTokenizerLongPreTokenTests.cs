using System.Diagnostics;
using System.IO.Compression;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Qwen.Tokenization.Tokenizer;
using Xunit.Abstractions;

namespace Qwen.Tokenization.Tests.Tokenizer;

/// <summary>
/// <see cref="QwenTokenizer.Encode"/> on texts with pre-tokens past <see cref="QwenTokenizer.LongPreTokenThreshold"/>:
/// id for id the library's own whole-text encoding (normalization, added tokens, pre-token splits and all) where the
/// library is fast enough to compare, and a lossless round trip through vocabulary ids at a million units.
/// </summary>
public sealed class QwenTokenizerLongPreTokenTests(ITestOutputHelper output)
{
    /// <summary>The Qwen2.5 tokenizer.json with its split regex wrapped in "(?:…)": the same splits, but a pattern the tokenizer does not recognise.</summary>
    private static readonly Lazy<QwenTokenizer> UnrecognisedPattern = new(() =>
    {
        JsonNode root;
        using (var gz = new GZipStream(File.OpenRead(GoldenFiles.Path("tokenizer.json.gz")), CompressionMode.Decompress))
        {
            root = JsonNode.Parse(gz)!;
        }
        var regex = root["pre_tokenizer"]!["pretokenizers"]![0]!["pattern"]!;
        regex["Regex"] = $"(?:{regex["Regex"]!.GetValue<string>()})";
        var dir = Path.Combine(Path.GetTempPath(), $"qwen-tokenizer-wrapped-{Environment.ProcessId}");
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "tokenizer.json"), root.ToJsonString());
        File.Copy(Path.Combine(RepoPaths.QwenAssets, "tokenizer_config.json"), Path.Combine(dir, "tokenizer_config.json"), overwrite: true);
        return QwenTokenizer.FromDirectory(dir);
    });

    [Theory]
    [InlineData("vocab")]
    [InlineData("json")]
    public void Encode_TextsWithLongPreTokens_EqualLibraryIdForId(string source)
    {
        var tokenizer = TestTokenizers.Get(source);
        var random = new Random(source == "json" ? 11 : 12);
        var failures = new List<string>();
        var taken = 0;
        const int Cases = 60;
        for (var i = 0; i < Cases; i++)
        {
            var text = MixedText(random, longParts: random.Next(1, 4));
            taken += QwenPreTokenizerPattern.LongestPieceBound(text) > QwenTokenizer.LongPreTokenThreshold ? 1 : 0;
            Compare(tokenizer, text, $"case {i}", failures);
        }
        Assert.True(failures.Count == 0, $"{failures.Count} of {Cases} differ:\n{string.Join("\n", failures)}");
        Assert.Equal(Cases, taken); // every case has a long piece, so every case left the library's path
    }

    [Fact]
    public void Encode_UnrecognisedPattern_RustGoldenCasesAndLongTextsStayExact()
    {
        // Here every text longer than the threshold is split by us, short pieces going to the library one by one.
        var tokenizer = UnrecognisedPattern.Value;
        var failures = new List<string>();
        var count = 0;
        foreach (var line in File.ReadLines(GoldenFiles.Path("tokenize-rust.jsonl")))
        {
            using var doc = JsonDocument.Parse(line);
            var text = doc.RootElement.GetProperty("text").GetString()!;
            var expected = doc.RootElement.GetProperty("ids").EnumerateArray().Select(e => e.GetInt32()).ToArray();
            if (!tokenizer.Encode(text).SequenceEqual(expected))
            {
                failures.Add($"golden {JsonSerializer.Serialize(text)}");
            }
            count++;
        }
        Assert.Equal(1092, count);
        var random = new Random(13);
        for (var i = 0; i < 40; i++)
        {
            Compare(tokenizer, MixedText(random, longParts: i % 2), $"case {i}", failures);
        }
        Assert.True(failures.Count == 0, $"{failures.Count} differ:\n{string.Join("\n", failures.Take(10))}");
    }

    public static TheoryData<string> MillionKinds => new() { "ab", "a-z", "space-cyrillic", "exclamation-run", "punctuation-run", "chat-turn" };

    [Theory]
    [MemberData(nameof(MillionKinds))]
    public void Encode_MillionUnitPreToken_DecodesBackWithVocabularyIds(string kind)
    {
        const int Units = 1_000_000;
        var random = new Random(5);
        var text = kind switch
        {
            "ab" => string.Concat(Enumerable.Repeat("ab", Units / 2)),
            "a-z" => RandomText.FromRanges(random, Units, RandomText.AsciiLower),
            "space-cyrillic" => " " + RandomText.FromRanges(random, Units, [(0x410, 0x44F)]),
            "exclamation-run" => new string('!', Units),
            "punctuation-run" => RandomText.FromAlphabet(random, Units, RandomText.Punctuation.Replace("'", "", StringComparison.Ordinal)),
            "chat-turn" => $"<|im_start|>user\nHello, {RandomText.FromRanges(random, Units, RandomText.AsciiLower)}!<|im_end|>\n",
            _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "unknown kind"),
        };
        var tokenizer = TestTokenizers.FromVocab;
        var clock = Stopwatch.StartNew();
        var ids = tokenizer.Encode(text);
        output.WriteLine($"{kind}: {text.Length} units -> {ids.Length} ids in {clock.Elapsed.TotalSeconds:F2} s");

        Assert.Equal(text, tokenizer.Decode(ids));
        var added = tokenizer.AddedTokens.Values.ToHashSet();
        var nonVocab = ids.Where(id => tokenizer.TokenBytes(id).IsEmpty || (added.Contains(id) && kind != "chat-turn")).Take(5).ToList();
        Assert.True(nonVocab.Count == 0, $"ids outside the vocabulary: {string.Join(", ", nonVocab)}");
        if (kind == "chat-turn")
        {
            Assert.Equal([151644], ids[..1]); // <|im_start|>
            Assert.Equal(2, ids.Count(added.Contains)); // and <|im_end|>, nothing else
        }
    }

    private static void Compare(QwenTokenizer tokenizer, string text, string name, List<string> failures)
    {
        var expected = tokenizer.EncodeWithLibraryOnly(text);
        var actual = tokenizer.Encode(text);
        if (!actual.SequenceEqual(expected))
        {
            var at = actual.Zip(expected).TakeWhile(p => p.First == p.Second).Count();
            failures.Add($"{name} ({text.Length} units): {expected.Length} ids expected, {actual.Length} got, first difference at id {at}: {JsonSerializer.Serialize(text)}");
        }
    }

    /// <summary>Ordinary text with added tokens, NFC traps, emoji and 'ſ', and <paramref name="longParts"/> pieces of 300–2,000 units.</summary>
    private static string MixedText(Random random, int longParts)
    {
        string[] ordinary =
        [
            "The quick brown fox jumps over the lazy dog. ", "It's what we'd expect; they've said so.\n", "<|im_start|>user\n",
            "<|im_end|>\n", "<tool_call>\n{\"name\": \"f\"}\n</tool_call>", "e\u0301 A\u030A \u1100\u1161 ", "<|im_end|>\u0338 ", "=\u0338",
            "大型语言模型的推理服务。", "🌅🚀 naïve café ", "'ſt x𝐀y 𝟙 ", "    return a + b; // sum\n", "\r\n\t \u00A0 ", "123 4567 ",
        ];
        var parts = new List<string>();
        for (var i = random.Next(2, 12); i > 0; i--)
        {
            parts.Add(ordinary[random.Next(ordinary.Length)]);
        }
        for (var i = 0; i < longParts; i++)
        {
            var length = random.Next(300, 2001);
            var piece = random.Next(8) switch
            {
                7 => RandomText.FromRanges(random, length, [(0x20, 0xD7FF), (0xE000, 0xFFFD), (0x10000, 0x10FFFF)]), // any scalar, combining marks too
                0 => RandomText.FromRanges(random, length, RandomText.AsciiLower),
                1 => RandomText.FromRanges(random, length, RandomText.LatinCyrillicCjk),
                2 => RandomText.FromRanges(random, length, RandomText.LatinCyrillicCjk, RandomText.SupplementaryLetters),
                3 => RandomText.FromAlphabet(random, length, RandomText.Punctuation),
                4 => string.Concat(Enumerable.Repeat("ab", length / 2)),
                5 => new string(' ', length) + (random.Next(2) == 0 ? "x" : ""),
                _ => new string('!', length) + new string('\n', random.Next(0, 400)),
            };
            parts.Insert(random.Next(parts.Count + 1), (random.Next(2) == 0 ? " " : "") + piece);
        }
        return string.Concat(parts);
    }
}
