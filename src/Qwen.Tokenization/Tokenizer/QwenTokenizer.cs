using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
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

    /// <summary>
    /// Texts longer than this (UTF-16 units) are encoded piece by piece, checking the cancellation token every
    /// <see cref="PiecesPerCancellationCheck"/> pieces; shorter ones in one library call (a few milliseconds at most).
    /// </summary>
    internal const int CancellableLength = 1 << 16;

    private const int PiecesPerCancellationCheck = 256;

    private readonly BpeTokenizer _bpe;
    private readonly Lazy<LongPreTokenBpe> _longBpe; // built on first use: ordinary text never has a pre-token that long
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _addedLookup;
    private readonly bool _qwen2Pattern; // whether LongestPieceBound holds for the split pattern
    private readonly Dictionary<string, int> _vocab;
    private readonly byte[][] _bytes; // id -> the UTF-8 bytes it stands for
    private readonly bool[] _special;
    private readonly int _maxTokenBytes; // the most UTF-8 bytes one token stands for, added tokens included
    private readonly Regex? _addedRegex; // the added tokens, longest first: leftmost-longest, as the normalizer and the library split them
    private readonly Lazy<DispatchPreTokenizer> _plainPreTokenizer;
    private long _encodes;
    private long _cancelledEncodes;

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
        _maxTokenBytes = Math.Max(1, _bytes.Max(b => b?.Length ?? 0));
        _addedRegex = addedIds.Count == 0 ? null : new Regex(string.Join('|', addedIds.Keys.OrderByDescending(k => k.Length).Select(Regex.Escape)), RegexOptions.CultureInvariant);
        _plainPreTokenizer = new Lazy<DispatchPreTokenizer>(() => ((DispatchPreTokenizer)bpe.PreTokenizer!).WithoutAddedTokens());
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
    public int[] Encode(string text) => Encode(text, CancellationToken.None);

    /// <summary>
    /// Encodes text as <see cref="Encode(string)"/> does; a text longer than a few thousand words checks
    /// <paramref name="cancellationToken"/> between pre-token pieces and throws <see cref="OperationCanceledException"/>.
    /// </summary>
    public int[] Encode(string text, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(text);
        cancellationToken.ThrowIfCancellationRequested();
        Interlocked.Increment(ref _encodes);
        var ids = new List<int>();
        EncodeOrdinary(text, ids, cancellationToken);
        return [.. ids];
    }

    /// <summary>
    /// Encodes text in which added-token text inside <paramref name="plainText"/> (sorted, disjoint ranges: what a chat
    /// message's author wrote) is plain text, split and merged like any other, while added tokens outside them (what the
    /// chat template wrote) become their ids: Hugging Face's <c>split_special_tokens</c> for the content only. The text
    /// between two such ids is normalized and split as a whole, as it would be if the content held no added-token text,
    /// so a prompt whose content holds none encodes exactly as <see cref="Encode(string, CancellationToken)"/> encodes it.
    /// </summary>
    public int[] Encode(string text, IReadOnlyList<Range> plainText, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(plainText);
        if (plainText.Count == 0 || _addedRegex is null)
        {
            return Encode(text, cancellationToken);
        }
        cancellationToken.ThrowIfCancellationRequested();
        Interlocked.Increment(ref _encodes);
        var ids = new List<int>(text.Length / 3);
        int gapStart = 0, outside = 0; // the text not yet encoded; the start of the template's span being searched
        for (var r = 0; r <= plainText.Count; r++)
        {
            var (start, length) = r < plainText.Count ? plainText[r].GetOffsetAndLength(text.Length) : (text.Length, 0);
            Debug.Assert(start >= outside, "plain-text ranges must be sorted and disjoint");
            foreach (var match in _addedRegex.EnumerateMatches(text.AsSpan(outside, start - outside)))
            {
                var at = outside + match.Index;
                EncodePlain(text[gapStart..at], ids, cancellationToken);
                ids.Add(_addedLookup[text.AsSpan(at, match.Length)]);
                gapStart = at + match.Length;
            }
            outside = start + length;
        }
        EncodePlain(text[gapStart..], ids, cancellationToken);
        return [.. ids];
    }

    /// <summary>
    /// A lower bound on the number of tokens <paramref name="text"/> encodes to, in linear time and without BPE: a token
    /// stands for at most <see cref="MaxTokenBytes"/> bytes, so the normalized text's UTF-8 bytes need at least
    /// ceil(bytes / that) tokens. The normalizer leaves an NFC text (nearly every text) as it is, so it costs one scan.
    /// </summary>
    public int MinimumTokenCount(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var normalized = _bpe.Normalizer?.Normalize(text) ?? text;
        return (int)((Encoding.UTF8.GetByteCount(normalized) + (long)_maxTokenBytes - 1) / _maxTokenBytes);
    }

    /// <summary>Texts encoded so far (calls that got past their first cancellation check): what tests count to prove a text was refused before encoding.</summary>
    internal long EncodeCount => Interlocked.Read(ref _encodes);

    /// <summary>Encodes stopped part-way by their cancellation token: what tests count to prove an encode was cancelled, not finished.</summary>
    internal long CancelledEncodeCount => Interlocked.Read(ref _cancelledEncodes);

    /// <summary>The most UTF-8 bytes one token (added tokens included) stands for: 128 for Qwen2.5 (a run of 128 spaces).</summary>
    public int MaxTokenBytes => _maxTokenBytes;

    /// <summary>Appends the ids of <paramref name="text"/>, its added tokens (special or not) as their ids.</summary>
    private void EncodeOrdinary(string text, List<int> ids, CancellationToken cancellationToken)
    {
        if (text.Length == 0)
        {
            return;
        }
        // The library's EncodeToIds in two steps: normalize; then, if no piece can be long and the text is short, its
        // split-and-BPE as it is, else the same split with each piece's BPE done here (a long piece's by LongPreTokenBpe).
        var normalized = _bpe.Normalizer?.Normalize(text) ?? text;
        var longest = _qwen2Pattern ? QwenPreTokenizerPattern.LongestPieceBound(normalized) : normalized.Length;
        if (longest <= LongPreTokenThreshold && normalized.Length <= CancellableLength)
        {
            ids.AddRange(_bpe.EncodeToIds(normalized, considerPreTokenization: true, considerNormalization: false));
            return;
        }
        ids.EnsureCapacity(ids.Count + (normalized.Length / 2));
        EncodePieces(normalized, _bpe.PreTokenizer!, addedTokensAsIds: true, ids, cancellationToken);
    }

    /// <summary>Appends the ids of <paramref name="text"/> with its added-token text, if any, as plain text: normalize, split, BPE.</summary>
    private void EncodePlain(string text, List<int> ids, CancellationToken cancellationToken)
    {
        if (!_addedRegex!.IsMatch(text))
        {
            EncodeOrdinary(text, ids, cancellationToken); // nothing to keep from becoming an id: the ordinary path and its speed
            return;
        }
        EncodePieces(_bpe.Normalizer?.Normalize(text) ?? text, _plainPreTokenizer.Value, addedTokensAsIds: false, ids, cancellationToken);
    }

    /// <summary>
    /// Splits <paramref name="normalized"/> with <paramref name="preTokenizer"/> and appends each piece's ids, as the
    /// library's own loop does: a piece that is an added token is its id (unless <paramref name="addedTokensAsIds"/> is
    /// false: then its BPE), a short piece goes through the library's cached BPE, a long one through LongPreTokenBpe.
    /// </summary>
    private void EncodePieces(string normalized, PreTokenizer preTokenizer, bool addedTokensAsIds, List<int> ids, CancellationToken cancellationToken)
    {
        var count = 0;
        foreach (var (offset, length) in preTokenizer.PreTokenize(normalized))
        {
            if (++count % PiecesPerCancellationCheck == 0 && cancellationToken.IsCancellationRequested)
            {
                Interlocked.Increment(ref _cancelledEncodes);
                cancellationToken.ThrowIfCancellationRequested();
            }
            var piece = normalized.AsSpan(offset, length);
            if (_addedLookup.TryGetValue(piece, out var id))
            {
                if (addedTokensAsIds)
                {
                    ids.Add(id);
                }
                else
                {
                    _longBpe.Value.Encode(piece, ids); // the library would answer the added token's id
                }
            }
            else if (length <= LongPreTokenThreshold)
            {
                // One piece through the library's per-piece step (cached BPE), as in its own loop.
                ids.AddRange(_bpe.EncodeToIds(piece, considerPreTokenization: false, considerNormalization: false));
            }
            else
            {
                _longBpe.Value.Encode(piece, ids);
            }
        }
    }

    /// <summary>The library's own encoding of the whole text (quadratic in a pre-token's length): the reference the tests hold <see cref="Encode(string)"/> to.</summary>
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
