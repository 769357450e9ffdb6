using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Qwen.Tokenization.Tests.Tokenizer;

/// <summary>
/// A naive reference tokenizer read straight from vocab.json and merges.txt, which knows no added tokens: split with the
/// Qwen2 pattern from Hugging Face's tokenizer.json, then per piece merge the lowest-ranked adjacent pair (leftmost on
/// ties) until none is left, in O(n²). For BMP text without 'ſ', where .NET's regex and Oniguruma agree; no NFC.
/// </summary>
internal sealed class NaiveBpe
{
    private const string Pattern = @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    private static readonly Lazy<NaiveBpe> Lazy = new(() => new NaiveBpe());

    private readonly Dictionary<string, int> _vocab;
    private readonly Dictionary<(string, string), int> _ranks = [];

    private NaiveBpe()
    {
        _vocab = JsonSerializer.Deserialize<Dictionary<string, int>>(File.ReadAllBytes(Path.Combine(RepoPaths.QwenAssets, "vocab.json")))!;
        var rank = 0;
        foreach (var line in File.ReadLines(Path.Combine(RepoPaths.QwenAssets, "merges.txt")))
        {
            if (line.Length == 0 || line.StartsWith("#version", StringComparison.Ordinal))
            {
                continue;
            }
            var space = line.IndexOf(' ', StringComparison.Ordinal);
            _ranks.TryAdd((line[..space], line[(space + 1)..]), rank++);
        }
    }

    public static NaiveBpe Instance => Lazy.Value;

    /// <summary>GPT-2's bytes_to_unicode: printable bytes stand for themselves, the rest for 256, 257, … in byte order.</summary>
    public static string[] ByteChars { get; } = BytesToUnicode();

    /// <summary>The vocabulary, token text (byte-level alphabet) to id.</summary>
    public IReadOnlyDictionary<string, int> Vocab => _vocab;

    /// <summary>The ids of <paramref name="text"/> with every character plain text (added-token text included).</summary>
    public List<int> Encode(string text)
    {
        var ids = new List<int>();
        foreach (Match piece in Regex.Matches(text, Pattern))
        {
            var symbols = Encoding.UTF8.GetBytes(piece.Value).Select(b => ByteChars[b]).ToList();
            while (true)
            {
                int best = -1, bestRank = int.MaxValue;
                for (var i = 0; i + 1 < symbols.Count; i++)
                {
                    if (_ranks.TryGetValue((symbols[i], symbols[i + 1]), out var r) && r < bestRank)
                    {
                        (best, bestRank) = (i, r);
                    }
                }
                if (best < 0)
                {
                    break;
                }
                symbols[best] += symbols[best + 1];
                symbols.RemoveAt(best + 1);
            }
            ids.AddRange(symbols.Select(s => _vocab[s]));
        }
        return ids;
    }

    private static string[] BytesToUnicode()
    {
        var printable = Enumerable.Range('!', '~' - '!' + 1).Concat(Enumerable.Range('¡', '¬' - '¡' + 1)).Concat(Enumerable.Range('®', 'ÿ' - '®' + 1)).ToHashSet();
        var chars = new string[256];
        var next = 256;
        for (var b = 0; b < 256; b++)
        {
            chars[b] = ((char)(printable.Contains(b) ? b : next++)).ToString();
        }
        return chars;
    }
}
