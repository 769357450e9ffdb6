using System.Runtime.InteropServices;

namespace Qwen.Inference.KvCache;

/// <summary>
/// What every KV slot holds, token by token, and an index to find the slot whose contents share the longest prefix with
/// a prompt. The scheduler mirrors every write to the cache here (prefill, decode, copy, swap), so a slot's tokens are
/// exactly the ids whose keys and values sit at its positions [0, length); anything beyond is never claimed.
/// <para>
/// The index hashes fixed blocks of <see cref="BlockSize"/> tokens, each block's hash chained on the one before (vLLM's
/// scheme), into a map from chain hash to the slots holding that chain. Chosen over a radix tree because the contents
/// change a token at a time during decode: a block hash costs one dictionary entry per 16 tokens appended and one per
/// block dropped, with no node splits or merges; a lookup is one probe per block of the prompt. The last partial block
/// is matched token by token against the candidates' own tokens, which also verifies the whole prefix, so a hash
/// collision can shorten a match but never make one that is not there. LRU stamps order free slots for eviction.
/// </para>
/// Engine loop thread only.
/// </summary>
internal sealed class PrefixIndex
{
    /// <summary>Tokens per hashed block.</summary>
    public const int BlockSize = 16;

    private const ulong Seed = 0x9E3779B97F4A7C15UL;

    private readonly List<int>[] _tokens;
    private readonly List<ulong>[] _chains; // per slot: the chain hash of each full block of its tokens
    private readonly Dictionary<ulong, List<int>> _slotsByChain = [];
    private readonly long[] _lastUsed;
    private long _clock;

    public PrefixIndex(int slots)
    {
        _tokens = new List<int>[slots];
        _chains = new List<ulong>[slots];
        _lastUsed = new long[slots];
        for (var i = 0; i < slots; i++)
        {
            _tokens[i] = [];
            _chains[i] = [];
        }
    }

    /// <summary>Tokens slot <paramref name="slot"/> holds.</summary>
    public int Length(int slot) => _tokens[slot].Count;

    /// <summary>The tokens slot <paramref name="slot"/> holds, position 0 first (valid until the slot changes).</summary>
    public ReadOnlySpan<int> Tokens(int slot) => CollectionsMarshal.AsSpan(_tokens[slot]);

    /// <summary>When the slot was last used (a sequence in it ended, or its contents were reused): higher is more recent.</summary>
    public long LastUsed(int slot) => _lastUsed[slot];

    /// <summary>Marks the slot as used now, for LRU eviction.</summary>
    public void Touch(int slot) => _lastUsed[slot] = ++_clock;

    /// <summary>The slot's cache now also holds <paramref name="tokens"/> at its next positions.</summary>
    public void Append(int slot, ReadOnlySpan<int> tokens)
    {
        _tokens[slot].AddRange(tokens);
        IndexNewBlocks(slot);
    }

    /// <summary>The slot's cache now also holds <paramref name="token"/> at its next position.</summary>
    public void Append(int slot, int token)
    {
        _tokens[slot].Add(token);
        if (_tokens[slot].Count % BlockSize == 0)
        {
            IndexNewBlocks(slot);
        }
    }

    /// <summary>The slot keeps only its first <paramref name="length"/> tokens (at most what it holds).</summary>
    public void Truncate(int slot, int length)
    {
        var tokens = _tokens[slot];
        if (length >= tokens.Count)
        {
            return;
        }
        tokens.RemoveRange(length, tokens.Count - length);
        var chains = _chains[slot];
        var keep = length / BlockSize;
        for (var b = keep; b < chains.Count; b++)
        {
            Unindex(chains[b], slot);
        }
        chains.RemoveRange(keep, chains.Count - keep);
    }

    /// <summary>Slot <paramref name="to"/> now holds the first <paramref name="length"/> tokens of <paramref name="from"/> (copied rows).</summary>
    public void CopyPrefix(int from, int to, int length)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(length, Length(from));
        Truncate(to, 0);
        _tokens[to].AddRange(Tokens(from)[..length]);
        IndexNewBlocks(to);
    }

    /// <summary>Slots <paramref name="a"/> and <paramref name="b"/> exchanged their contents.</summary>
    public void Swap(int a, int b)
    {
        if (a == b)
        {
            return;
        }
        foreach (var h in _chains[a])
        {
            Unindex(h, a);
        }
        foreach (var h in _chains[b])
        {
            Unindex(h, b);
        }
        (_tokens[a], _tokens[b]) = (_tokens[b], _tokens[a]);
        (_chains[a], _chains[b]) = (_chains[b], _chains[a]);
        (_lastUsed[a], _lastUsed[b]) = (_lastUsed[b], _lastUsed[a]);
        foreach (var h in _chains[a])
        {
            Index(h, a);
        }
        foreach (var h in _chains[b])
        {
            Index(h, b);
        }
    }

    /// <summary>How many leading tokens slot <paramref name="slot"/> shares with <paramref name="prompt"/>.</summary>
    public int MatchLength(int slot, ReadOnlySpan<int> prompt) => Tokens(slot).CommonPrefixLength(prompt);

    /// <summary>
    /// The slot among those <paramref name="eligible"/> accepts whose contents share the longest prefix with
    /// <paramref name="prompt"/>, and that length; (-1, 0) when none shares a token. Equal lengths: the most recently used.
    /// </summary>
    public (int Slot, int Length) LongestPrefix(ReadOnlySpan<int> prompt, Func<int, bool> eligible)
    {
        // Follow the prompt's chain of block hashes as deep as some eligible slot holds it.
        List<int>? deepest = null;
        var h = Seed;
        for (var start = 0; start + BlockSize <= prompt.Length; start += BlockSize)
        {
            h = Chain(h, prompt.Slice(start, BlockSize));
            if (!_slotsByChain.TryGetValue(h, out var slots) || !slots.Exists(s => eligible(s)))
            {
                break;
            }
            deepest = slots;
        }
        var best = (Slot: -1, Length: 0);
        if (deepest is not null)
        {
            foreach (var slot in deepest)
            {
                Consider(slot, prompt, eligible, ref best);
            }
            return best;
        }
        // Not one full block in common with any slot: a match is shorter than a block, found by comparing each slot's start.
        for (var slot = 0; slot < _tokens.Length; slot++)
        {
            Consider(slot, prompt, eligible, ref best);
        }
        return best;
    }

    private void Consider(int slot, ReadOnlySpan<int> prompt, Func<int, bool> eligible, ref (int Slot, int Length) best)
    {
        if (!eligible(slot))
        {
            return;
        }
        var n = MatchLength(slot, prompt);
        if (n > best.Length || (n == best.Length && n > 0 && _lastUsed[slot] > _lastUsed[best.Slot]))
        {
            best = (slot, n);
        }
    }

    private void IndexNewBlocks(int slot)
    {
        var tokens = Tokens(slot);
        var chains = _chains[slot];
        var h = chains.Count == 0 ? Seed : chains[^1];
        for (var b = chains.Count; (b + 1) * BlockSize <= tokens.Length; b++)
        {
            h = Chain(h, tokens.Slice(b * BlockSize, BlockSize));
            chains.Add(h);
            Index(h, slot);
        }
    }

    private void Index(ulong chain, int slot)
    {
        if (!_slotsByChain.TryGetValue(chain, out var slots))
        {
            _slotsByChain[chain] = slots = [];
        }
        slots.Add(slot);
    }

    private void Unindex(ulong chain, int slot)
    {
        var slots = _slotsByChain[chain];
        slots.Remove(slot);
        if (slots.Count == 0)
        {
            _slotsByChain.Remove(chain);
        }
    }

    /// <summary>The hash of a block chained on the hash of everything before it (a 64-bit multiply-xorshift mix per token).</summary>
    private static ulong Chain(ulong previous, ReadOnlySpan<int> block)
    {
        var h = previous;
        foreach (var t in block)
        {
            h = (h ^ (uint)t) * 0xFF51AFD7ED558CCDUL;
            h ^= h >> 32;
        }
        return h;
    }
}
