using System.Numerics;

namespace Qwen.Tokenization.Constraints;

/// <summary>
/// For each DFA state, exactly which numbers of further code points can end in acceptance. R(k), the set of states
/// with an accepting completion of exactly k code points, is R(0) = accepting and R(k) = predecessors of R(k-1): a
/// function of R(k-1) alone, so the sequence repeats as soon as one set does (R(k) = R(p) gives period k - p).
/// It is computed until that repeat, which makes every answer exact for every length; if no repeat comes within
/// <see cref="Window"/> steps (only with cycles of many coprime lengths), lengths from the window on are answered
/// "no". The window is at least the state count, so every live state's shortest completion lies inside it.
/// </summary>
internal sealed class CompletionLengths
{
    /// <summary>The least number of lengths computed before giving up on finding the period.</summary>
    public const int Window = 4096;

    private readonly ulong[] _bits; // state s, length k: bit k of the row of s (stride _words)
    private readonly int _words;
    private readonly int _length; // lengths 0 .. _length-1 are stored
    private readonly int _periodStart; // -1 when no period was found within the window

    /// <summary>Computes the completion lengths of every state of <paramref name="dfa"/>.</summary>
    public CompletionLengths(PatternDfa dfa)
    {
        var n = dfa.StateCount;
        var setWords = (n + 63) / 64;
        var pairs = new HashSet<(int From, int To)>();
        for (var s = 0; s < n; s++)
        {
            for (var i = 0; i < dfa.TransitionCount(s); i++)
            {
                pairs.Add((s, dfa.Transition(s, i).Target));
            }
        }
        var edges = pairs.ToArray();

        var sequence = new List<ulong[]>();
        var seen = new Dictionary<int, List<int>>(); // hash of R(k) -> the k with that hash
        var current = new ulong[setWords];
        for (var s = 0; s < n; s++)
        {
            if (dfa.IsAccepting(s))
            {
                current[s >> 6] |= 1UL << s;
            }
        }
        var limit = Math.Max(Window, n + 1);
        _periodStart = -1;
        while (sequence.Count < limit)
        {
            var hash = Hash(current);
            if (seen.TryGetValue(hash, out var candidates) && candidates.FirstOrDefault(k => sequence[k].AsSpan().SequenceEqual(current), -1) is var repeat and >= 0)
            {
                _periodStart = repeat;
                break;
            }
            (seen.TryGetValue(hash, out var list) ? list : seen[hash] = []).Add(sequence.Count);
            sequence.Add(current);
            var next = new ulong[setWords];
            foreach (var (from, to) in edges)
            {
                if ((current[to >> 6] & (1UL << to)) != 0)
                {
                    next[from >> 6] |= 1UL << from;
                }
            }
            current = next;
        }

        // Transpose: one row of length bits per state, so a query scans words of one row.
        _length = sequence.Count;
        _words = (_length + 63) / 64;
        _bits = new ulong[n * _words];
        for (var k = 0; k < _length; k++)
        {
            var set = sequence[k];
            for (var w = 0; w < setWords; w++)
            {
                for (var word = set[w]; word != 0; word &= word - 1)
                {
                    var s = (w * 64) + BitOperations.TrailingZeroCount(word);
                    _bits[(s * _words) + (k >> 6)] |= 1UL << k;
                }
            }
        }
    }

    /// <summary>Whether all lengths are answered exactly (a period was found); otherwise lengths from <see cref="StoredLengths"/> on answer false.</summary>
    public bool IsExact => _periodStart >= 0;

    /// <summary>The number of lengths stored (0 .. StoredLengths-1); beyond, lengths repeat with the period when <see cref="IsExact"/>.</summary>
    public int StoredLengths => _length;

    /// <summary>Whether <paramref name="state"/> has an accepting completion of between <paramref name="min"/> and <paramref name="max"/> code points.</summary>
    public bool Any(int state, int min, int max)
    {
        if (max < min)
        {
            return false;
        }
        long lo = min, hi = max;
        if (_periodStart >= 0)
        {
            // Lengths from _length on repeat those from _periodStart with period q: shift the query into the stored window.
            long q = _length - _periodStart;
            if (lo >= _length)
            {
                var shift = ((lo - _periodStart) / q) * q;
                lo -= shift;
                hi -= shift;
            }
            if (hi >= _length && AnyBit(state, _periodStart, (int)Math.Min(hi - q, _length - 1)))
            {
                return true;
            }
        }
        return lo < _length && AnyBit(state, (int)lo, (int)Math.Min(hi, _length - 1));
    }

    private bool AnyBit(int state, int from, int to)
    {
        var row = state * _words;
        for (var w = from >> 6; w <= to >> 6; w++)
        {
            var word = _bits[row + w];
            if (w == from >> 6)
            {
                word &= ulong.MaxValue << (from & 63);
            }
            if (w == to >> 6 && (to & 63) != 63)
            {
                word &= (1UL << ((to & 63) + 1)) - 1;
            }
            if (word != 0)
            {
                return true;
            }
        }
        return false;
    }

    private static int Hash(ulong[] set)
    {
        var hash = new HashCode();
        foreach (var word in set)
        {
            hash.Add(word);
        }
        return hash.ToHashCode();
    }
}
