using System.Diagnostics;
using System.Text.Unicode;
using Qwen.Tokenization.Tokenizer;

namespace Qwen.Tokenization.Constraints;

/// <summary>
/// For every token id, the exact bytes it decodes to (a byte-level BPE token may hold part of a UTF-8 character; an
/// added token such as <c>&lt;tool_call&gt;</c> holds its content's bytes) and whether it is special
/// (<c>&lt;|im_end|&gt;</c>, <c>&lt;|endoftext|&gt;</c>, …). Built once per tokenizer; immutable, so one instance serves
/// every request on every thread. Ids at or past <see cref="Count"/> (the model's padded vocabulary) have no bytes.
/// </summary>
public sealed class TokenBytes
{
    /// <summary>Token flag: the token has at least one byte.</summary>
    internal const byte NonEmpty = 1;

    /// <summary>Token flag: the token is special (never matched as text).</summary>
    internal const byte Special = 2;

    /// <summary>
    /// Token flag: well-formed, complete UTF-8 with no '"', '\', '&lt;' or control byte, so inside a JSON string it is
    /// plain content that leaves the automaton where it was ('&lt;' is excluded because it may start <c>&lt;/tool_call&gt;</c>).
    /// </summary>
    internal const byte PlainStringContent = 4;

    /// <summary>Token flag: no '&lt;' byte, so in free text before a tool call it cannot start or continue <c>&lt;tool_call&gt;</c>.</summary>
    internal const byte NoOpenAngle = 8;

    private readonly byte[] _data; // all tokens' bytes, back to back
    private readonly int[] _offsets; // token id -> start in _data; _offsets[Count] is the end
    private readonly byte[] _flags;
    private readonly byte[] _first; // first byte, 0 for an empty token
    private readonly byte[] _codePoints; // characters in a plain-content token (255 means 255 or more)

    // For TokenGrammar.FillAllowed, over the non-special non-empty ids: groups by first byte (ascending ids within a
    // group; group b is Ids[Starts[b]..Starts[b + 1]]) and bitsets (bit per id, zero past Count).
    private readonly int[] _ids;
    private readonly int[] _idStarts;
    private readonly int[] _nonPlainIds; // not PlainStringContent
    private readonly int[] _nonPlainStarts;
    private readonly int[] _openAngleIds; // with a '<' byte
    private readonly int[] _openAngleStarts;
    private readonly ulong[] _noOpenAngleBits;
    private readonly ulong[][] _plainBits; // [k]: PlainStringContent with at most k characters; [PlainBitsRoom + 1]: all of them
    private readonly int[] _longPlain; // PlainStringContent ids with more than PlainBitsRoom characters, by character count
    private readonly int[] _longPlainStarts; // [256]: where those with more than c characters start, for c >= PlainBitsRoom

    /// <summary>Builds the table from each token's bytes (null or empty for an unused id) and the ids that are special.</summary>
    public TokenBytes(IReadOnlyList<byte[]?> tokens, IEnumerable<int> specialIds)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        ArgumentNullException.ThrowIfNull(specialIds);
        var count = tokens.Count;
        _offsets = new int[count + 1];
        _flags = new byte[count];
        _first = new byte[count];
        _codePoints = new byte[count];
        var total = 0;
        for (var id = 0; id < count; id++)
        {
            _offsets[id] = total;
            total += tokens[id]?.Length ?? 0;
        }
        _offsets[count] = total;
        _data = new byte[total];
        for (var id = 0; id < count; id++)
        {
            var bytes = tokens[id];
            if (bytes is not { Length: > 0 })
            {
                continue;
            }
            bytes.CopyTo(_data, _offsets[id]);
            _first[id] = bytes[0];
            _flags[id] = (byte)(NonEmpty | (IsPlainStringContent(bytes) ? PlainStringContent : 0) | (bytes.AsSpan().Contains((byte)'<') ? 0 : NoOpenAngle));
            _codePoints[id] = (byte)Math.Min(255, bytes.Count(b => (b & 0xC0) != 0x80));
        }
        foreach (var id in specialIds)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(id, nameof(specialIds));
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(id, count, nameof(specialIds));
            _flags[id] = (byte)((_flags[id] & (NonEmpty | NoOpenAngle)) | Special);
        }

        var text = Enumerable.Range(0, count).Where(id => (_flags[id] & (NonEmpty | Special)) == NonEmpty).ToArray();
        (_ids, _idStarts) = GroupBy(text, id => _first[id]);
        (_nonPlainIds, _nonPlainStarts) = GroupBy([.. text.Where(id => (_flags[id] & PlainStringContent) == 0)], id => _first[id]);
        (_openAngleIds, _openAngleStarts) = GroupBy([.. text.Where(id => (_flags[id] & NoOpenAngle) == 0)], id => _first[id]);
        _noOpenAngleBits = Bits(count, text.Where(id => (_flags[id] & NoOpenAngle) != 0));
        var (plain, starts) = GroupBy([.. text.Where(id => (_flags[id] & PlainStringContent) != 0)], id => _codePoints[id]);
        _plainBits = new ulong[PlainBitsRoom + 2][];
        for (var k = 0; k <= PlainBitsRoom; k++)
        {
            _plainBits[k] = Bits(count, plain[..starts[k + 1]]);
        }
        _plainBits[PlainBitsRoom + 1] = Bits(count, plain);
        var shortPlain = starts[PlainBitsRoom + 1];
        _longPlain = plain[shortPlain..];
        _longPlainStarts = [.. starts[1..].Select(start => Math.Max(0, start - shortPlain))];
    }

    /// <summary>
    /// Up to this room <see cref="PlainBits"/> keeps an exact bitset per character count (19 KiB each for Qwen2.5); past
    /// it, the bitset of all plain tokens less the few longer ones (689 of Qwen2.5's 144,954 plain tokens have more than 16 characters).
    /// </summary>
    internal const int PlainBitsRoom = 16;

    /// <summary>One past the largest id with bytes (the tokenizer's <see cref="QwenTokenizer.TokenCount"/>).</summary>
    public int Count => _flags.Length;

    /// <summary>Reads every token's bytes and special flag from <paramref name="tokenizer"/>.</summary>
    public static TokenBytes FromTokenizer(QwenTokenizer tokenizer)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        return new TokenBytes(tokenizer.TokenByteArrays, Enumerable.Range(0, tokenizer.TokenCount).Where(tokenizer.IsSpecial));
    }

    /// <summary>The bytes token <paramref name="id"/> decodes to; empty for an unknown id.</summary>
    public ReadOnlySpan<byte> this[int id] => (uint)id < (uint)_flags.Length ? _data.AsSpan(_offsets[id], _offsets[id + 1] - _offsets[id]) : [];

    /// <summary>Whether <paramref name="id"/> is a special token (only ever allowed as a stop token, never as text).</summary>
    public bool IsSpecial(int id) => (uint)id < (uint)_flags.Length && (_flags[id] & Special) != 0;

    /// <summary>The token's flags (<see cref="NonEmpty"/>, <see cref="Special"/>, <see cref="PlainStringContent"/>); 0 for an unknown id.</summary>
    internal byte FlagsOf(int id) => (uint)id < (uint)_flags.Length ? _flags[id] : (byte)0;

    /// <summary>The token's first byte (meaningful only for a <see cref="NonEmpty"/> token); the id must be below <see cref="Count"/>.</summary>
    internal byte FirstByteOf(int id) => _first[id];

    /// <summary>How many characters the token holds when it is <see cref="PlainStringContent"/> (255 for 255 or more); the id must be below <see cref="Count"/>.</summary>
    internal int CodePointsOf(int id) => _codePoints[id];

    /// <summary>The token's bytes after the first; the id must be below <see cref="Count"/>.</summary>
    internal ReadOnlySpan<byte> RestOf(int id) => _data.AsSpan(_offsets[id] + 1, _offsets[id + 1] - _offsets[id] - 1);

    /// <summary>The non-special non-empty ids whose first byte is <paramref name="b"/>, ascending.</summary>
    internal ReadOnlySpan<int> IdsStartingWith(int b) => _ids.AsSpan(_idStarts[b], _idStarts[b + 1] - _idStarts[b]);

    /// <summary>The non-special non-empty ids whose first byte is <paramref name="b"/> and that are not <see cref="PlainStringContent"/>.</summary>
    internal ReadOnlySpan<int> NonPlainIdsStartingWith(int b) => _nonPlainIds.AsSpan(_nonPlainStarts[b], _nonPlainStarts[b + 1] - _nonPlainStarts[b]);

    /// <summary>The non-special non-empty ids whose first byte is <paramref name="b"/> and that hold a '&lt;' (not <see cref="NoOpenAngle"/>).</summary>
    internal ReadOnlySpan<int> OpenAngleIdsStartingWith(int b) => _openAngleIds.AsSpan(_openAngleStarts[b], _openAngleStarts[b + 1] - _openAngleStarts[b]);

    /// <summary>Whether some non-special id starting with <paramref name="b"/> is <see cref="PlainStringContent"/>.</summary>
    internal bool HasPlainStartingWith(int b) => NonPlainIdsStartingWith(b).Length != IdsStartingWith(b).Length;

    /// <summary>Bit per id: non-special, non-empty and <see cref="NoOpenAngle"/>; ceil(<see cref="Count"/> / 64) words.</summary>
    internal ReadOnlySpan<ulong> NoOpenAngleBits => _noOpenAngleBits;

    /// <summary>
    /// Bit per id: <see cref="PlainStringContent"/> with <see cref="CodePointsOf"/> at most <paramref name="room"/> (at
    /// least 1), except the ids in <paramref name="tooLong"/>, which the caller clears (none up to <see cref="PlainBitsRoom"/>).
    /// </summary>
    internal ReadOnlySpan<ulong> PlainBits(int room, out ReadOnlySpan<int> tooLong)
    {
        Debug.Assert(room >= 1);
        if (room <= PlainBitsRoom)
        {
            tooLong = [];
            return _plainBits[room];
        }
        tooLong = _longPlain.AsSpan(_longPlainStarts[Math.Min(room, 255)]);
        return _plainBits[PlainBitsRoom + 1];
    }

    /// <summary>Counting sort of <paramref name="ids"/> (ascending) by a byte key: the sorted ids and 257 group starts.</summary>
    private static (int[] Ids, int[] Starts) GroupBy(int[] ids, Func<int, byte> key)
    {
        var starts = new int[257];
        foreach (var id in ids)
        {
            starts[key(id) + 1]++;
        }
        for (var b = 0; b < 256; b++)
        {
            starts[b + 1] += starts[b];
        }
        var sorted = new int[ids.Length];
        var next = starts[..256];
        foreach (var id in ids)
        {
            sorted[next[key(id)]++] = id;
        }
        return (sorted, starts);
    }

    private static ulong[] Bits(int count, IEnumerable<int> ids)
    {
        var bits = new ulong[(count + 63) >> 6];
        foreach (var id in ids)
        {
            bits[id >> 6] |= 1UL << id;
        }
        return bits;
    }

    private static bool IsPlainStringContent(byte[] bytes)
    {
        foreach (var b in bytes)
        {
            if (b < 0x20 || b is (byte)'"' or (byte)'\\' or (byte)'<')
            {
                return false;
            }
        }
        return Utf8.IsValid(bytes);
    }
}
