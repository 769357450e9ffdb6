using System.Text;
using System.Text.Json;
using Microsoft.ML.Tokenizers;

namespace Qwen.Tokenization.Tokenizer;

/// <summary>The Qwen2.5 byte-level BPE tokenizer, loaded from a model directory's files. Thread-safe after construction.</summary>
public sealed class QwenTokenizer
{
    /// <summary>
    /// Pre-tokens longer than this (UTF-16 units) go to <see cref="LongPreTokenBpe"/>, not the library, whose BPE is
    /// quadratic in a pre-token's length (one 40k-letter word: 0.2 s, 160k: 2.3 s). Measured on the 2-core dev box:
    /// up to 256 the library's cost per character stays within ~10% of its cost on short words, and ordinary text, with
    /// no piece this long, keeps the library's path exactly as it was.
    /// </summary>
    internal const int LongPreTokenThreshold = 256;

    private readonly BpeTokenizer _bpe;
    private readonly Lazy<LongPreTokenBpe> _longBpe; // built on first use: ordinary text never has a pre-token that long
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _addedLookup;
    private readonly bool _qwen2Pattern; // whether LongestPieceBound holds for the split pattern
    private readonly Dictionary<string, int> _vocab;
    private readonly byte[][] _bytes; // id -> the UTF-8 bytes it stands for
    private readonly bool[] _special;

    private QwenTokenizer(BpeTokenizer bpe, Lazy<LongPreTokenBpe> longBpe, bool qwen2Pattern, Dictionary<string, int> vocab, Dictionary<string, (int Id, bool Special)> added, Dictionary<string, int> addedIds)
    {
        _bpe = bpe;
        _longBpe = longBpe;
        _qwen2Pattern = qwen2Pattern;
        _vocab = vocab;
        var count = Math.Max(vocab.Values.Max(), added.Count == 0 ? 0 : added.Values.Max(a => a.Id)) + 1;
        _bytes = new byte[count][];
        _special = new bool[count];
        var byteOf = Enumerable.Range(0, 256).ToDictionary(b => ByteLevelAlphabet.Chars[b], b => (byte)b);
        foreach (var (token, id) in vocab)
        {
            _bytes[id] = token.Select(c => byteOf.TryGetValue(c, out var b) ? b : (byte)'?').ToArray();
        }
        foreach (var (content, (id, special)) in added)
        {
            _bytes[id] = Encoding.UTF8.GetBytes(content);
            _special[id] = special;
        }
        AddedTokens = addedIds;
        _addedLookup = addedIds.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    /// <summary>One past the largest token id the tokenizer knows.</summary>
    public int TokenCount => _bytes.Length;

    /// <summary>The added tokens (special and not), text to id.</summary>
    public IReadOnlyDictionary<string, int> AddedTokens { get; }

    /// <summary>Loads <c>tokenizer.json</c> (or <c>vocab.json</c> + <c>merges.txt</c>) and <c>tokenizer_config.json</c> from <paramref name="modelDirectory"/>.</summary>
    public static QwenTokenizer FromDirectory(string modelDirectory)
    {
        ArgumentNullException.ThrowIfNull(modelDirectory);
        var tokenizerJson = Path.Combine(modelDirectory, "tokenizer.json");
        var added = new Dictionary<string, (int Id, bool Special)>(StringComparer.Ordinal);
        Dictionary<string, int> vocab;
        List<string> merges;
        var pattern = QwenPreTokenizerPattern.Qwen2; // vocab.json + merges.txt state no pattern: Qwen2's is the family's
        var nfc = true;
        if (File.Exists(tokenizerJson))
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(tokenizerJson));
            var root = doc.RootElement;
            var model = root.GetProperty("model");
            vocab = model.GetProperty("vocab").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetInt32(), StringComparer.Ordinal);
            merges = model.GetProperty("merges").EnumerateArray()
                .Select(m => m.ValueKind == JsonValueKind.Array ? $"{m[0].GetString()} {m[1].GetString()}" : m.GetString()!).ToList();
            foreach (var t in root.GetProperty("added_tokens").EnumerateArray())
            {
                added[t.GetProperty("content").GetString()!] = (t.GetProperty("id").GetInt32(), t.GetProperty("special").GetBoolean());
            }
            pattern = FindSplitPattern(root.GetProperty("pre_tokenizer")) ?? pattern;
            nfc = root.TryGetProperty("normalizer", out var norm) && norm.ValueKind == JsonValueKind.Object && norm.GetProperty("type").GetString() == "NFC";
        }
        else
        {
            var vocabPath = Path.Combine(modelDirectory, "vocab.json");
            var mergesPath = Path.Combine(modelDirectory, "merges.txt");
            if (!File.Exists(vocabPath) || !File.Exists(mergesPath))
            {
                throw new FileNotFoundException($"no tokenizer in {modelDirectory}: need tokenizer.json, or vocab.json and merges.txt");
            }
            vocab = JsonSerializer.Deserialize<Dictionary<string, int>>(File.ReadAllBytes(vocabPath))!;
            merges = File.ReadLines(mergesPath).Where(l => l.Length > 0 && !l.StartsWith("#version", StringComparison.Ordinal)).ToList();
        }
        // tokenizer_config.json says which added tokens are special (and adds any tokenizer.json lacks).
        var configPath = Path.Combine(modelDirectory, "tokenizer_config.json");
        if (File.Exists(configPath))
        {
            using var config = JsonDocument.Parse(File.ReadAllBytes(configPath));
            if (config.RootElement.TryGetProperty("added_tokens_decoder", out var decoder))
            {
                foreach (var p in decoder.EnumerateObject())
                {
                    added[p.Value.GetProperty("content").GetString()!] = (int.Parse(p.Name, System.Globalization.CultureInfo.InvariantCulture), p.Value.TryGetProperty("special", out var s) && s.GetBoolean());
                }
            }
        }

        var addedIds = added.ToDictionary(a => a.Key, a => a.Value.Id, StringComparer.Ordinal);
        var bpe = BpeTokenizer.Create(new BpeOptions(vocab)
        {
            Merges = merges,
            ByteLevel = true,
            SpecialTokens = addedIds,
            PreTokenizer = new DispatchPreTokenizer(pattern, addedIds),
            Normalizer = nfc ? new AddedTokenAwareNormalizer(addedIds.Keys) : null,
        });
        return new QwenTokenizer(bpe, new Lazy<LongPreTokenBpe>(() => new LongPreTokenBpe(vocab, merges)), pattern == QwenPreTokenizerPattern.Qwen2, vocab, added, addedIds);
    }

    /// <summary>Encodes text; added tokens in the text (special or not) become their single ids; no BOS/EOS is added.</summary>
    public int[] Encode(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text.Length == 0)
        {
            return [];
        }
        // The library's EncodeToIds in two steps: normalize; then, if no piece can be long, its split-and-BPE as it is,
        // else the same split with each long piece's BPE done here.
        var normalized = _bpe.Normalizer?.Normalize(text) ?? text;
        var longest = _qwen2Pattern ? QwenPreTokenizerPattern.LongestPieceBound(normalized) : normalized.Length;
        if (longest <= LongPreTokenThreshold)
        {
            return [.. _bpe.EncodeToIds(normalized, considerPreTokenization: true, considerNormalization: false)];
        }
        var ids = new List<int>(normalized.Length / 2);
        foreach (var (offset, length) in _bpe.PreTokenizer!.PreTokenize(normalized))
        {
            var piece = normalized.AsSpan(offset, length);
            if (length <= LongPreTokenThreshold)
            {
                // One piece through the library's per-piece step (added token -> its id, else cached BPE), as in its own loop.
                ids.AddRange(_bpe.EncodeToIds(piece, considerPreTokenization: false, considerNormalization: false));
            }
            else if (_addedLookup.TryGetValue(piece, out var id))
            {
                ids.Add(id); // an added token longer than the threshold: none in Qwen2.5, but the library's rule
            }
            else
            {
                _longBpe.Value.Encode(piece, ids);
            }
        }
        return [.. ids];
    }

    /// <summary>The library's own encoding of the whole text (quadratic in a pre-token's length): the reference the tests hold <see cref="Encode"/> to.</summary>
    internal int[] EncodeWithLibraryOnly(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return text.Length == 0 ? [] : [.. _bpe.EncodeToIds(text)];
    }

    /// <summary>Decodes ids to text; invalid UTF-8 becomes U+FFFD; <paramref name="skipSpecialTokens"/> drops only tokens marked special.</summary>
    public string Decode(ReadOnlySpan<int> ids, bool skipSpecialTokens = false)
    {
        var bytes = new List<byte>(ids.Length * 4);
        foreach (var id in ids)
        {
            if (!skipSpecialTokens || !IsSpecial(id))
            {
                bytes.AddRange(TokenBytes(id));
            }
        }
        return Encoding.UTF8.GetString(bytes.ToArray());
    }

    /// <summary>The raw bytes a token stands for (a token may hold part of a UTF-8 character); empty for an unknown id.</summary>
    public ReadOnlySpan<byte> TokenBytes(int id) => (uint)id < (uint)_bytes.Length && _bytes[id] is { } b ? b : [];

    /// <summary>Every id's bytes (null for an unused id), for tables built over the whole vocabulary; not to be written to.</summary>
    internal IReadOnlyList<byte[]?> TokenByteArrays => _bytes;

    /// <summary>The id of an added or regular token given by its exact text, or null.</summary>
    public int? GetTokenId(string token)
        => AddedTokens.TryGetValue(token, out var id) ? id : _vocab.TryGetValue(token, out id) ? id : null;

    /// <summary>Whether <paramref name="id"/> is an added token marked special in tokenizer_config.json.</summary>
    public bool IsSpecial(int id) => (uint)id < (uint)_special.Length && _special[id];

    /// <summary>A fresh streaming detokenizer (one per generated sequence).</summary>
    public IncrementalDetokenizer CreateDetokenizer(bool skipSpecialTokens = false) => new(this, skipSpecialTokens);

    private static string? FindSplitPattern(JsonElement preTokenizer)
    {
        if (preTokenizer.ValueKind != JsonValueKind.Object)
        {
            return null;
        }
        if (preTokenizer.GetProperty("type").GetString() == "Split" && preTokenizer.GetProperty("pattern").TryGetProperty("Regex", out var regex))
        {
            return regex.GetString();
        }
        return preTokenizer.TryGetProperty("pretokenizers", out var list) ? list.EnumerateArray().Select(FindSplitPattern).FirstOrDefault(p => p is not null) : null;
    }

}
