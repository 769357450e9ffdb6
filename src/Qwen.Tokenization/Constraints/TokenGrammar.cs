using System.Diagnostics;
using System.Text;
using Qwen.Tokenization.Chat;
using Qwen.Tokenization.Constraints.Schema;

namespace Qwen.Tokenization.Constraints;

/// <summary>
/// A token constraint for one request: which token ids may come next so the generated text stays a prefix of the
/// grammar, and the walk as tokens are accepted. The grammar is a sequence of segments (exact literals, one of a set
/// of strings, a value of a <see cref="CompiledJsonSchema"/>, free text up to <c>&lt;tool_call&gt;</c>,
/// an optional repeat) walked byte by byte across token boundaries, so a token may span
/// segments and <c>&lt;/tool_call&gt;</c> matches as the added token or as ordinary sub-tokens alike. Every allowed
/// prefix can still be completed, so generation never reaches a dead end; at the end only stop ids are allowed.
/// The walk is greedy: a segment keeps a byte it can take, else hands it to the next segment if it is complete
/// (the grammars built here never need the other choice). Not thread-safe: engine loop thread only (the schema walks
/// it shares with other grammars are thread-safe).
/// </summary>
public sealed class TokenGrammar
{
    /// <summary>What the host writes to open the assistant turn for <see cref="RequiredToolCall(TokenBytes, IReadOnlyList{ToolGrammar}, bool, IReadOnlyCollection{int})"/>.</summary>
    public const string RequiredToolCallOpening = "<tool_call>\n";

    private const string CallEnd = "}\n</tool_call>";
    private const string CallSeparator = "\n<tool_call>\n";
    private static readonly byte[] ToolCallClose = "</tool_call>"u8.ToArray();
    private static readonly byte[] ToolCallOpen = "<tool_call>"u8.ToArray();

    // Walks before the two-byte table pays: the engine checks its sampled token first, and scans every id only when refused.
    private const int PairTableThreshold = 64;

    private readonly TokenBytes _tokens;
    private readonly Segment[] _segments;
    private readonly ulong[] _stop; // bit per token id: a stop id
    private readonly Cursor[] _afterFirstByte = new Cursor[256];
    private readonly bool[] _firstByteAllowed = new bool[256];
    private readonly ulong[] _firstByteKnown = new ulong[4]; // bit per first byte: its entries above are for the current cursor
    private readonly ulong[] _pairAllowed = new ulong[256 * 256 / 64]; // bit (b1 << 8 | b2): the two bytes may come next
    private Cursor _cursor;
    private bool _complete; // a stop id is allowed now
    private bool _inStringBody; // in a JSON string between characters, where plain-content tokens leave the state unchanged
    private int _plainRoom; // in a string body: how many characters plain-content tokens may add (-1 elsewhere)
    private bool _inFreeText; // in free text with no part of "<tool_call>" pending, where tokens without '<' leave the state unchanged
    private int _guard; // bytes of "</tool_call>" just matched in the arguments (0 when not guarded)
    private bool _pairsBuilt;
    private int _walks; // slow-path walks since the cursor moved; past a threshold a full scan is under way
    private bool _stopped;

    private TokenGrammar(TokenBytes tokens, Segment[] segments, IReadOnlyCollection<int> stopIds)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        ArgumentNullException.ThrowIfNull(stopIds);
        if (stopIds.Count == 0)
        {
            throw new ArgumentException("at least one stop token id is required: the grammar ends only with one", nameof(stopIds));
        }
        foreach (var id in stopIds)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(id, nameof(stopIds));
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(id, tokens.Count, nameof(stopIds));
        }
        _tokens = tokens;
        _segments = segments;
        _stop = new ulong[(stopIds.Max() >> 6) + 1];
        foreach (var id in stopIds)
        {
            _stop[id >> 6] |= 1UL << id;
        }
        Enter(ref _cursor);
        Refresh();
    }

    private enum SegmentKind : byte
    {
        Literal, // Bytes must follow exactly
        OneOf, // one of Names
        Schema, // one value of a compiled schema (Dfas[Choice] when the segment has one per name, else Dfas[0])
        FreeText, // any bytes until "<tool_call>" has been written (then the next segment)
        Branch, // takes no byte: a '<' goes on at segment RepeatTo (a tool call), any other byte at the next segment
        Repeat, // either nothing, or Bytes and then the grammar again from segment RepeatTo
        End, // nothing more: only a stop id
    }

    /// <summary>Whether the text so far is a whole sentence of the grammar, so a stop id is allowed (or one was accepted).</summary>
    public bool IsComplete => _complete || _stopped;

    /// <summary>The text the host writes to open the assistant turn for <see cref="NamedToolCall(TokenBytes, CompiledJsonSchema, IReadOnlyCollection{int})"/> of function <paramref name="name"/>.</summary>
    public static string NamedToolCallOpening(string name)
        => $"{RequiredToolCallOpening}{{\"name\": \"{EscapeName(name)}\", \"arguments\": ";

    /// <summary>
    /// The grammar for <c>response_format: {"type": "json_schema"}</c>: one JSON value following <paramref name="schema"/>
    /// (no whitespace around it; inside, the schema walk's bounded whitespace), then one of <paramref name="stopIds"/>.
    /// </summary>
    public static TokenGrammar JsonSchema(TokenBytes tokens, CompiledJsonSchema schema, IReadOnlyCollection<int> stopIds)
    {
        ArgumentNullException.ThrowIfNull(schema);
        return new(tokens, [SchemaValue([schema], guardToolCallClose: false), End()], stopIds);
    }

    /// <summary>
    /// The grammar for <c>tool_choice</c> naming a function, when the host has opened the assistant turn with
    /// <see cref="NamedToolCallOpening"/>: arguments that follow <paramref name="arguments"/>, <c>}\n&lt;/tool_call&gt;</c>,
    /// then a stop id.
    /// </summary>
    public static TokenGrammar NamedToolCall(TokenBytes tokens, CompiledJsonSchema arguments, IReadOnlyCollection<int> stopIds)
    {
        ArgumentNullException.ThrowIfNull(arguments);
        return new(tokens, [SchemaValue([arguments], guardToolCallClose: true), Literal(CallEnd), End()], stopIds);
    }

    /// <summary>
    /// The grammar for <c>tool_choice: "required"</c>, when the host has opened the assistant turn with
    /// <see cref="RequiredToolCallOpening"/>: <c>{"name": "</c> one of the functions' names (escaped as the chat
    /// template's tojson writes them) <c>", "arguments": </c> arguments that follow that function's schema
    /// (<see cref="ToolGrammar.Arguments"/>) <c>}\n&lt;/tool_call&gt;</c>; then a stop id, or, when
    /// <paramref name="parallel"/>, also <c>\n&lt;tool_call&gt;\n</c> and another call, any number of times.
    /// </summary>
    public static TokenGrammar RequiredToolCall(TokenBytes tokens, IReadOnlyList<ToolGrammar> functions, bool parallel, IReadOnlyCollection<int> stopIds)
    {
        var (names, schemas) = SortFunctions(functions);
        Segment[] segments =
        [
            Literal("{\"name\": \""),
            new(SegmentKind.OneOf, [], names, false),
            Literal("\", \"arguments\": "),
            SchemaValue(schemas, guardToolCallClose: true),
            Literal(CallEnd),
            parallel ? new(SegmentKind.Repeat, Encoding.UTF8.GetBytes(CallSeparator), [], false) : End(),
            End(),
        ];
        return new(tokens, segments, stopIds);
    }

    /// <summary>
    /// The grammar for <c>tool_choice: "auto"</c> when some tool is strict: free text (any non-special tokens; a stop id
    /// is allowed anywhere in it) until the bytes <c>&lt;tool_call&gt;</c> appear (the added token or sub-tokens); from
    /// there exactly <c>\n{"name": "</c> one of the names <c>", "arguments": </c> that function's arguments
    /// <c>}\n&lt;/tool_call&gt;</c> (the text of <see cref="RequiredToolCall(TokenBytes, IReadOnlyList{ToolGrammar}, bool, IReadOnlyCollection{int})"/>),
    /// then a stop id, or, when <paramref name="parallel"/>, also <c>\n&lt;tool_call&gt;\n</c> and another call.
    /// Pass a non-strict tool with <see cref="CompiledJsonSchema.AnyObject"/>.
    /// With <paramref name="content"/> (response_format json_object or json_schema with tools under tool_choice auto) the
    /// answer is instead either one JSON value following it, as <see cref="JsonSchema"/>, or, when it begins with '&lt;',
    /// <c>&lt;tool_call&gt;</c> and the calls as above: the first byte decides, since no JSON value begins with '&lt;'.
    /// So an agent can call its tools and still give its final answer in the shape it asked for.
    /// </summary>
    public static TokenGrammar AutoToolCalls(TokenBytes tokens, IReadOnlyList<ToolGrammar> functions, bool parallel, IReadOnlyCollection<int> stopIds, CompiledJsonSchema? content = null)
    {
        var (names, schemas) = SortFunctions(functions);
        if (content is not null)
        {
            return new(tokens, [
                new(SegmentKind.Branch, [], [], false) { RepeatTo = 3 },
                SchemaValue([content], guardToolCallClose: false),
                End(),
                Literal("<tool_call>"),
                Literal("\n{\"name\": \""),
                new(SegmentKind.OneOf, [], names, false),
                Literal("\", \"arguments\": "),
                SchemaValue(schemas, guardToolCallClose: true),
                Literal(CallEnd),
                parallel ? new(SegmentKind.Repeat, "\n<tool_call>"u8.ToArray(), [], false) { RepeatTo = 4 } : End(),
                End(),
            ], stopIds);
        }
        Segment[] segments =
        [
            new(SegmentKind.FreeText, ToolCallOpen, [], false),
            Literal("\n{\"name\": \""),
            new(SegmentKind.OneOf, [], names, false),
            Literal("\", \"arguments\": "),
            SchemaValue(schemas, guardToolCallClose: true),
            Literal(CallEnd),
            parallel ? new(SegmentKind.Repeat, "\n<tool_call>"u8.ToArray(), [], false) { RepeatTo = 1 } : End(),
            End(),
        ];
        return new(tokens, segments, stopIds);
    }

    /// <summary>
    /// Whether token <paramref name="tokenId"/> may come next. Changes no observable state (it may fill a cache for the
    /// current position); O(1) for most ids: a first-byte table (each entry stepped on first use), a two-byte table
    /// built once a full scan is under way, in a JSON string a per-token "plain content" flag (with its character count
    /// against the room a schema's maxLength leaves), and in free text before a tool call a "no '&lt;'" flag decide all
    /// but tokens with quotes, escapes or '&lt;'; the rest walk their bytes (through the schema's cached DFA, if any).
    /// </summary>
    public bool IsAllowed(int tokenId)
    {
        if (_stopped)
        {
            return false;
        }
        if (IsStop(tokenId))
        {
            return _complete;
        }
        var flags = _tokens.FlagsOf(tokenId);
        if ((flags & (TokenBytes.NonEmpty | TokenBytes.Special)) != TokenBytes.NonEmpty)
        {
            return false; // unknown, empty, or special but not a stop id
        }
        var first = _tokens.FirstByteOf(tokenId);
        return FirstByteAllowed(first) && IsAllowedAfter(tokenId, first, countWalk: true);
    }

    /// <summary>Advances past token <paramref name="tokenId"/>, which must be allowed (<see cref="InvalidOperationException"/> otherwise).</summary>
    public void Accept(int tokenId)
    {
        if (!IsAllowed(tokenId))
        {
            throw new InvalidOperationException(_stopped
                ? $"token {tokenId} accepted after the grammar ended with a stop token"
                : $"token {tokenId} is not allowed by the grammar here");
        }
        if (IsStop(tokenId))
        {
            _stopped = true;
            return;
        }
        var flags = _tokens.FlagsOf(tokenId);
        if (!(_inStringBody && _guard == 0 && (flags & TokenBytes.PlainStringContent) != 0) && !(_inFreeText && (flags & TokenBytes.NoOpenAngle) != 0))
        {
            var first = _tokens.FirstByteOf(tokenId);
            _cursor = _afterFirstByte[first];
            var walked = Walk(ref _cursor, _tokens.RestOf(tokenId));
            Debug.Assert(walked, "an allowed token walks to the end");
            Refresh();
        }
    }

    private bool IsStop(int tokenId) => (uint)(tokenId >> 6) < (uint)_stop.Length && (_stop[tokenId >> 6] & (1UL << tokenId)) != 0;

    private static string EscapeName(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        var sb = new StringBuilder();
        PythonJson.WriteString(sb, name);
        return sb.ToString(1, sb.Length - 2);
    }

    private static Segment Literal(string text) => new(SegmentKind.Literal, Encoding.UTF8.GetBytes(text), [], false);

    /// <summary>A schema value: one schema, or one per name of the OneOf segment before it (in its sorted order).</summary>
    private static Segment SchemaValue(CompiledJsonSchema[] schemas, bool guardToolCallClose)
        => new(SegmentKind.Schema, [], [], guardToolCallClose) { Dfas = [.. schemas.Select(s => s.NewWalk())] };

    /// <summary>The functions' escaped names sorted by their bytes (the OneOf segment's order), the first of a repeated name kept, and their schemas in that order.</summary>
    private static (byte[][] Names, CompiledJsonSchema[] Schemas) SortFunctions(IReadOnlyList<ToolGrammar> functions)
    {
        ArgumentNullException.ThrowIfNull(functions);
        if (functions.Count == 0)
        {
            throw new ArgumentException("at least one function is required", nameof(functions));
        }
        var sorted = functions.Select(f => f is null || f.Name is null || f.Arguments is null
                ? throw new ArgumentException("a function, its name or its schema is null", nameof(functions))
                : (Name: Encoding.UTF8.GetBytes(EscapeName(f.Name)), f.Arguments))
            .DistinctBy(f => Convert.ToHexString(f.Name))
            .OrderBy(f => f.Name, Comparer<byte[]>.Create((a, b) => a.AsSpan().SequenceCompareTo(b)))
            .ToArray();
        return ([.. sorted.Select(f => f.Name)], [.. sorted.Select(f => f.Arguments)]);
    }

    private static Segment End() => new(SegmentKind.End, [], [], false);

    /// <summary>Recomputes what depends on the cursor only: completeness, the string fast path, and each first byte's successor.</summary>
    private void Refresh()
    {
        _complete = IsCompleteAt(_cursor);
        var segment = _segments[_cursor.Segment];
        var dfa = segment.Kind == SegmentKind.Schema ? DfaOf(segment, _cursor) : null;
        _inStringBody = dfa is not null && dfa.IsFreeStringBody(_cursor.Schema);
        _plainRoom = dfa is not null ? dfa.PlainRoom(_cursor.Schema) : -1;
        _guard = dfa is not null ? _cursor.Guard : 0;
        _inFreeText = segment.Kind == SegmentKind.FreeText && _cursor.Pos == 0;
        _pairsBuilt = false;
        _walks = 0;
        Array.Clear(_firstByteKnown); // filled on demand: a sampled token that is allowed needs only its own first byte
    }

    /// <summary>Whether <paramref name="b"/> may come next, stepping the cursor's copy for it on first use at this position.</summary>
    private bool FirstByteAllowed(int b)
    {
        if ((_firstByteKnown[b >> 6] & (1UL << b)) == 0)
        {
            var next = _cursor;
            _firstByteAllowed[b] = Step(ref next, (byte)b);
            _afterFirstByte[b] = next;
            _firstByteKnown[b >> 6] |= 1UL << b;
        }
        return _firstByteAllowed[b];
    }

    /// <summary>Which second bytes may follow each allowed first byte: 256 steps per allowed first byte, worth it only for a full scan.</summary>
    private void BuildPairTable()
    {
        Array.Clear(_pairAllowed);
        for (var b1 = 0; b1 < 256; b1++)
        {
            if (!FirstByteAllowed(b1))
            {
                continue;
            }
            for (var b2 = 0; b2 < 256; b2++)
            {
                var next = _afterFirstByte[b1];
                if (Step(ref next, (byte)b2))
                {
                    var pair = b1 << 8 | b2;
                    _pairAllowed[pair >> 6] |= 1UL << pair;
                }
            }
        }
        _pairsBuilt = true;
    }

    private bool Walk(ref Cursor cursor, ReadOnlySpan<byte> bytes)
    {
        foreach (var b in bytes)
        {
            if (!Step(ref cursor, b))
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>Consumes one byte; on false the cursor is garbage (callers walk copies).</summary>
    private bool Step(ref Cursor c, byte b)
    {
        while (true)
        {
            var seg = _segments[c.Segment];
            switch (seg.Kind)
            {
                case SegmentKind.Literal:
                    if (c.Pos < seg.Bytes.Length)
                    {
                        return seg.Bytes[c.Pos++] == b;
                    }
                    break;
                case SegmentKind.OneOf:
                    if (NarrowNames(seg.Names, ref c, b))
                    {
                        return true;
                    }
                    if (seg.Names[c.Lo].Length != c.Pos)
                    {
                        return false;
                    }
                    c.Choice = c.Lo; // sorted, so the name that is exactly the bytes so far is the first of the range
                    break;
                case SegmentKind.Schema:
                    var dfa = DfaOf(seg, c);
                    var next = dfa.Next(c.Schema, b);
                    if (next >= 0)
                    {
                        c.Schema = next;
                        return !seg.GuardToolCallClose || Guard(ref c, b);
                    }
                    if (!dfa.IsAccepting(c.Schema))
                    {
                        return false;
                    }
                    break;
                case SegmentKind.FreeText:
                    if (c.Pos < seg.Bytes.Length)
                    {
                        // '<' occurs only first in "<tool_call>", so a mismatch restarts at 0, or at 1 on '<'.
                        c.Pos = b == seg.Bytes[c.Pos] ? c.Pos + 1 : b == '<' ? 1 : 0;
                        return true;
                    }
                    break;
                case SegmentKind.Branch:
                    c.Segment = b == '<' ? seg.RepeatTo : c.Segment + 1;
                    Enter(ref c);
                    continue;
                case SegmentKind.Repeat:
                    if (seg.Bytes[c.Pos] != b)
                    {
                        return false; // at Pos 0 the alternative is End, which takes no bytes
                    }
                    if (++c.Pos == seg.Bytes.Length)
                    {
                        c.Segment = seg.RepeatTo;
                        Enter(ref c);
                    }
                    return true;
                default:
                    return false;
            }
            c.Segment++;
            Enter(ref c);
        }
    }

    /// <summary>Tracks the end of the arguments against "&lt;/tool_call&gt;"; false when <paramref name="b"/> would complete it (ending the block inside them).</summary>
    private static bool Guard(ref Cursor c, byte b)
    {
        // '<' occurs only first in "</tool_call>", so a mismatch restarts at 0, or at 1 on '<'.
        c.Guard = b == ToolCallClose[c.Guard] ? c.Guard + 1 : b == '<' ? 1 : 0;
        return c.Guard < ToolCallClose.Length;
    }

    private static SchemaDfa DfaOf(Segment seg, Cursor c) => seg.Dfas[seg.Dfas.Length == 1 ? 0 : c.Choice];

    /// <summary>Keeps the names (a sorted range sharing the first Pos bytes) whose next byte is <paramref name="b"/>.</summary>
    private static bool NarrowNames(byte[][] names, ref Cursor c, byte b)
    {
        var lo = c.Lo;
        while (lo < c.Hi && (names[lo].Length <= c.Pos || names[lo][c.Pos] < b))
        {
            lo++;
        }
        var hi = lo;
        while (hi < c.Hi && names[hi].Length > c.Pos && names[hi][c.Pos] == b)
        {
            hi++;
        }
        if (hi == lo)
        {
            return false;
        }
        c.Lo = lo;
        c.Hi = hi;
        c.Pos++;
        return true;
    }

    private void Enter(ref Cursor c)
    {
        var seg = _segments[c.Segment];
        c.Pos = 0;
        c.Guard = 0;
        c.Lo = 0;
        c.Hi = seg.Names.Length;
        c.Schema = seg.Kind == SegmentKind.Schema ? DfaOf(seg, c).Start : 0;
    }

    private bool IsCompleteAt(Cursor c)
    {
        while (true)
        {
            var seg = _segments[c.Segment];
            if (seg.Kind == SegmentKind.FreeText && c.Pos < seg.Bytes.Length)
            {
                return true; // a stop is allowed anywhere in free text, but not once "<tool_call>" is written
            }
            var segmentComplete = seg.Kind switch
            {
                SegmentKind.End => true,
                SegmentKind.Repeat => c.Pos == 0,
                SegmentKind.Literal => c.Pos == seg.Bytes.Length,
                SegmentKind.OneOf => seg.Names[c.Lo].Length == c.Pos,
                SegmentKind.Schema => DfaOf(seg, c).IsAccepting(c.Schema),
                SegmentKind.FreeText => true,
                _ => false, // Branch: a value or a call must be written
            };
            if (!segmentComplete || seg.Kind is SegmentKind.End or SegmentKind.Repeat)
            {
                return segmentComplete;
            }
            if (seg.Kind == SegmentKind.OneOf)
            {
                c.Choice = c.Lo;
            }
            c.Segment++;
            Enter(ref c);
        }
    }

    /// <summary>One piece of the grammar; Names are sorted by their bytes so the names sharing a prefix form a range.</summary>
    private sealed record Segment(SegmentKind Kind, byte[] Bytes, byte[][] Names, bool GuardToolCallClose)
    {
        /// <summary>A Schema segment's walks (shared with other grammars of the same schemas; thread-safe).</summary>
        public SchemaDfa[] Dfas { get; init; } = [];

        /// <summary>Where a Repeat segment's loop goes back to, or where a Branch segment's '&lt;' goes on.</summary>
        public int RepeatTo { get; init; }
    }

    /// <summary>Where the walk is: the segment, the position in its literal or names, and the schema walk's state.</summary>
    private struct Cursor
    {
        public int Segment;
        public int Pos;
        public int Lo;
        public int Hi;
        public int Guard; // bytes of "</tool_call>" matched at the end of the text inside the arguments
        public int Schema; // the state of the current Schema segment's walk
        public int Choice; // which name the last OneOf segment matched (its index in sorted order)
    }

    /// <summary>
    /// Sets bit i of <paramref name="mask"/> exactly when <see cref="IsAllowed"/>(i) is true and clears every other bit
    /// (ids past the vocabulary, or past the mask, are never set). Visits only the ids whose first byte may come next; in a
    /// JSON string body the plain-content tokens within the room maxLength leaves, and in free text before a tool call the
    /// tokens without '&lt;', are set in bulk from <see cref="TokenBytes"/>' shared bitsets and only the others are checked
    /// one by one. Changes no observable state, like <see cref="IsAllowed"/>.
    /// </summary>
    public void FillAllowed(Span<ulong> mask)
    {
        mask.Clear();
        if (_stopped)
        {
            return;
        }
        // The bulk sets are decided by the flags IsAllowed tests before any walk, so only their first bytes remain to check.
        var freeTextBulk = _inFreeText;
        var plainBulk = !freeTextBulk && _plainRoom > 0; // at room 0 no plain token fits (each has a character)
        if (freeTextBulk || plainBulk)
        {
            var tooLong = ReadOnlySpan<int>.Empty;
            var bulk = freeTextBulk ? _tokens.NoOpenAngleBits : _tokens.PlainBits(_plainRoom, out tooLong);
            bulk[..Math.Min(bulk.Length, mask.Length)].CopyTo(mask);
            foreach (var id in tooLong)
            {
                SetBit(mask, id, false);
            }
        }
        var firstBytes = 0;
        var walks = 0;
        for (var b = 0; b < 256; b++)
        {
            if (!FirstByteAllowed(b))
            {
                if (freeTextBulk || (plainBulk && _tokens.HasPlainStartingWith(b)))
                {
                    foreach (var id in _tokens.IdsStartingWith(b))
                    {
                        SetBit(mask, id, false);
                    }
                }
                continue;
            }
            firstBytes++;
            walks += ToWalk(b, freeTextBulk, plainBulk).Length;
        }
        // The two-byte table costs 256 steps per allowed first byte: it pays after a value's first byte ('t', 'f', 'n'
        // groups of thousands), not in a string body, where most first bytes are allowed but few tokens are left to walk.
        if (!_pairsBuilt && walks > firstBytes * 256)
        {
            BuildPairTable();
        }
        for (var b = 0; b < 256; b++)
        {
            if (FirstByteAllowed(b))
            {
                foreach (var id in ToWalk(b, freeTextBulk, plainBulk))
                {
                    SetBit(mask, id, IsAllowedAfter(id, (byte)b));
                }
            }
        }
        for (var w = 0; w < Math.Min(_stop.Length, mask.Length); w++)
        {
            mask[w] = _complete ? mask[w] | _stop[w] : mask[w] & ~_stop[w];
        }
    }

    /// <summary>The ids of first byte <paramref name="b"/> that the bulk sets leave undecided.</summary>
    private ReadOnlySpan<int> ToWalk(int b, bool freeTextBulk, bool plainBulk)
        => freeTextBulk ? _tokens.OpenAngleIdsStartingWith(b)
            // With "</tool_call>" partly written, plain tokens starting with its rest are refused: that group is checked whole.
            : plainBulk && !(_guard > 0 && b == ToolCallClose[_guard]) ? _tokens.NonPlainIdsStartingWith(b)
            : _tokens.IdsStartingWith(b);

    /// <summary>
    /// <see cref="IsAllowed"/> for a non-special non-empty token whose first byte <paramref name="first"/> is allowed: its
    /// remaining steps, without building the two-byte table (<see cref="FillAllowed"/> decides when that pays).
    /// </summary>
    private bool IsAllowedAfter(int tokenId, byte first, bool countWalk = false)
    {
        if (IsStop(tokenId))
        {
            return _complete;
        }
        var flags = _tokens.FlagsOf(tokenId);
        if (_inFreeText && (flags & TokenBytes.NoOpenAngle) != 0)
        {
            return true;
        }
        if (_plainRoom >= 0 && (flags & TokenBytes.PlainStringContent) != 0)
        {
            // Plain content has no '<', so it can only complete "</tool_call>" by starting with the rest of it.
            return _tokens.CodePointsOf(tokenId) <= _plainRoom && (_guard == 0 || !_tokens[tokenId].StartsWith(ToolCallClose.AsSpan(_guard)));
        }
        var rest = _tokens.RestOf(tokenId);
        if (rest.Length == 0)
        {
            return true;
        }
        if (countWalk && !_pairsBuilt && ++_walks > PairTableThreshold)
        {
            BuildPairTable(); // one token at a time (IsAllowed): past a few walks a full scan is under way, and the table pays
        }
        if (_pairsBuilt)
        {
            var pair = first << 8 | rest[0];
            if ((_pairAllowed[pair >> 6] & (1UL << pair)) == 0)
            {
                return false;
            }
        }
        var cursor = _afterFirstByte[first];
        return Walk(ref cursor, rest);
    }

    private static void SetBit(Span<ulong> mask, int id, bool allowed)
    {
        if ((uint)(id >> 6) < (uint)mask.Length)
        {
            mask[id >> 6] = allowed ? mask[id >> 6] | (1UL << id) : mask[id >> 6] & ~(1UL << id);
        }
    }
}
