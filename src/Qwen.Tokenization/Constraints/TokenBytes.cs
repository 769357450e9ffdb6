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
    }

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
