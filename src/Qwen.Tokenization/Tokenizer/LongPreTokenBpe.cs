using System.Buffers;

namespace Qwen.Tokenization.Tokenizer;

/// <summary>
/// Byte-level BPE of one pre-token in O(n log n), for the pre-tokens too long for Microsoft.ML.Tokenizers 2.0.1:
/// its <c>Word.MergeAll</c> merges with a heap, then drops each merged-away symbol with an array shift
/// (<c>Vec.Remove</c>), which is quadratic (a 160k-letter word took 2.3 s; a 1 MB one minutes).
/// <para>
/// Same rule as Hugging Face's <c>Word::merge_all</c> and the library: symbols are the pre-token's UTF-8 bytes (a
/// lone surrogate as its 3 raw bytes, as the library encodes it) in a linked list; a min-heap holds adjacent pairs
/// keyed by (merge rank, position); the lowest rank merges first, the leftmost on ties; an entry whose pair has
/// changed since it was pushed is skipped when popped (lazy deletion). The heap order is a total order on keys and
/// equal keys are interchangeable, so the merges happen in exactly the library's order.
/// </para>
/// Immutable after construction and thread-safe; each call rents its buffers (O(pre-token length), never O(vocab)).
/// </summary>
internal sealed class LongPreTokenBpe
{
    private readonly int[] _byteToId = new int[256]; // byte -> id of its byte-level token, -1 if the vocab lacks it
    private readonly Dictionary<long, long> _merges; // (left id << 32 | right id) -> (rank << 32 | merged id)

    /// <summary>Builds the tables from the vocabulary and the merges ("a b" per line, in rank order, as given to the library).</summary>
    public LongPreTokenBpe(IReadOnlyDictionary<string, int> vocab, IReadOnlyList<string> merges)
    {
        ArgumentNullException.ThrowIfNull(vocab);
        ArgumentNullException.ThrowIfNull(merges);
        for (var b = 0; b < 256; b++)
        {
            _byteToId[b] = vocab.TryGetValue(ByteLevelAlphabet.Chars[b].ToString(), out var id) ? id : -1;
        }
        _merges = new Dictionary<long, long>(merges.Count, PairComparer.Instance);
        for (var rank = 0; rank < merges.Count; rank++)
        {
            var merge = merges[rank];
            var space = merge.IndexOf(' ', StringComparison.Ordinal);
            var left = vocab[merge[..space]];
            var right = vocab[merge[(space + 1)..]];
            var merged = vocab[string.Concat(merge.AsSpan(0, space), merge.AsSpan(space + 1))];
            _merges.TryAdd(Pair(left, right), ((long)rank << 32) | (uint)merged); // the library rejects duplicates; keep the first
        }
    }

    /// <summary>Appends the ids of <paramref name="preToken"/> (one pre-token, not an added token) to <paramref name="ids"/>.</summary>
    public void Encode(ReadOnlySpan<char> preToken, List<int> ids)
    {
        ArgumentNullException.ThrowIfNull(ids);
        var capacity = preToken.Length * 3; // a UTF-16 unit is at most 3 UTF-8 bytes (a surrogate pair 4 for 2 units)
        var symbol = ArrayPool<int>.Shared.Rent(capacity); // token id, -1 once merged into its left neighbour
        var prev = ArrayPool<int>.Shared.Rent(capacity);
        var next = ArrayPool<int>.Shared.Rent(capacity);
        var heap = new MinHeap(capacity);
        try
        {
            var count = ToByteSymbols(preToken, symbol);
            for (var i = 0; i < count; i++)
            {
                prev[i] = i - 1;
                next[i] = i + 1 < count ? i + 1 : -1;
            }
            for (var i = 0; i + 1 < count; i++)
            {
                if (_merges.TryGetValue(Pair(symbol[i], symbol[i + 1]), out var m))
                {
                    heap.Push(Key(m, i));
                }
            }
            while (heap.Count > 0)
            {
                var top = heap.Pop();
                var pos = (int)(uint)top;
                var right = next[pos];
                if (symbol[pos] < 0 || right < 0)
                {
                    continue;
                }
                // Stale unless the pair now at pos is the one pushed: a rank names one merge, i.e. one (left, right) pair.
                if (!_merges.TryGetValue(Pair(symbol[pos], symbol[right]), out var m) || m >> 32 != top >> 32)
                {
                    continue;
                }
                symbol[pos] = (int)(uint)m;
                symbol[right] = -1;
                next[pos] = next[right];
                if (next[pos] >= 0)
                {
                    prev[next[pos]] = pos;
                }
                if (prev[pos] >= 0 && _merges.TryGetValue(Pair(symbol[prev[pos]], symbol[pos]), out m))
                {
                    heap.Push(Key(m, prev[pos]));
                }
                if (next[pos] >= 0 && _merges.TryGetValue(Pair(symbol[pos], symbol[next[pos]]), out m))
                {
                    heap.Push(Key(m, pos));
                }
            }
            // Symbol 0 is never merged away (only right neighbours are), so the list starts there.
            for (var i = count > 0 ? 0 : -1; i >= 0; i = next[i])
            {
                ids.Add(symbol[i]);
            }
        }
        finally
        {
            heap.Dispose();
            ArrayPool<int>.Shared.Return(next);
            ArrayPool<int>.Shared.Return(prev);
            ArrayPool<int>.Shared.Return(symbol);
        }
    }

    private static long Pair(int left, int right) => ((long)left << 32) | (uint)right;

    // Orders by rank, then position: both are non-negative, so the packed long compares as the pair does.
    private static long Key(long merge, int pos) => (merge & ~0xFFFF_FFFFL) | (uint)pos;

    /// <summary>The byte-level symbols of <paramref name="text"/> as the library makes them; returns how many were written.</summary>
    private int ToByteSymbols(ReadOnlySpan<char> text, int[] symbols)
    {
        var count = 0;
        for (var i = 0; i < text.Length; i++)
        {
            uint c = text[i];
            if (c < 0x80)
            {
                Add(c);
            }
            else if (c < 0x800)
            {
                Add(0xC0 | (c >> 6));
                Add(0x80 | (c & 0x3F));
            }
            else if (char.IsHighSurrogate((char)c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                var v = (uint)char.ConvertToUtf32((char)c, text[++i]);
                Add(0xF0 | (v >> 18));
                Add(0x80 | ((v >> 12) & 0x3F));
                Add(0x80 | ((v >> 6) & 0x3F));
                Add(0x80 | (v & 0x3F));
            }
            else
            {
                // Includes a lone surrogate, which the library encodes like any BMP unit (not as U+FFFD).
                Add(0xE0 | (c >> 12));
                Add(0x80 | ((c >> 6) & 0x3F));
                Add(0x80 | (c & 0x3F));
            }
        }
        return count;

        void Add(uint b)
        {
            // A byte the vocab lacks is dropped, as the library does when it has no unknown token (never for Qwen).
            if (_byteToId[b] is var id and >= 0)
            {
                symbols[count++] = id;
            }
        }
    }

    /// <summary>Hashes a packed pair by mixing both halves: <c>long.GetHashCode</c> is <c>left ^ right</c>, which collides heavily on id pairs.</summary>
    private sealed class PairComparer : IEqualityComparer<long>
    {
        public static readonly PairComparer Instance = new();

        public bool Equals(long x, long y) => x == y;

        public int GetHashCode(long obj) => (int)(((ulong)obj * 0x9E3779B97F4A7C15UL) >> 32);
    }

    /// <summary>A binary min-heap of longs in a pooled, growing array.</summary>
    private struct MinHeap(int capacity) : IDisposable
    {
        private long[] _items = ArrayPool<long>.Shared.Rent(Math.Max(capacity, 16));

        public int Count { get; private set; }

        public void Push(long item)
        {
            if (Count == _items.Length)
            {
                var grown = ArrayPool<long>.Shared.Rent(_items.Length * 2);
                _items.AsSpan(0, Count).CopyTo(grown);
                ArrayPool<long>.Shared.Return(_items);
                _items = grown;
            }
            var i = Count++;
            while (i > 0)
            {
                var parent = (i - 1) / 2;
                if (_items[parent] <= item)
                {
                    break;
                }
                _items[i] = _items[parent];
                i = parent;
            }
            _items[i] = item;
        }

        public long Pop()
        {
            var top = _items[0];
            var last = _items[--Count];
            var i = 0;
            while (true)
            {
                var child = (2 * i) + 1;
                if (child >= Count)
                {
                    break;
                }
                if (child + 1 < Count && _items[child + 1] < _items[child])
                {
                    child++;
                }
                if (last <= _items[child])
                {
                    break;
                }
                _items[i] = _items[child];
                i = child;
            }
            _items[i] = last;
            return top;
        }

        public readonly void Dispose() => ArrayPool<long>.Shared.Return(_items);
    }
}
