using System.Runtime.InteropServices;

namespace Qwen.Tokenization.Constraints.Schema;

/// <summary>
/// The walk of one compiled schema over bytes, determinized lazily: a state is a set of stacks (<see cref="SchemaConfig"/>;
/// more than one where anyOf alternatives, candidate keys or literals share first bytes), interned to an int, with a
/// 256-entry transition row filled on first use. So a recurring position costs one array read per byte, and the work
/// of stepping frames is paid once per distinct (state, byte). Every transition keeps only stacks that can still
/// complete, so no reachable state is a dead end.
/// Thread-safe, and shared by every grammar of one <see cref="CompiledJsonSchema"/> so that requests warm it for each
/// other: a known transition is a lock-free read (rows and flags are published with volatile writes after they are
/// complete); a miss computes under one lock. It only grows; past <see cref="MaxStates"/> new grammars take a private
/// one (see <see cref="CompiledJsonSchema"/>), so one odd schema cannot hold memory without bound.
/// </summary>
internal sealed class SchemaDfa
{
    /// <summary>The deepest nesting of arrays and objects accepted (the root container is depth 1).</summary>
    public const int MaxDepth = 32;

    /// <summary>
    /// States past which a shared walk takes no new grammars: a used state's row is 1 KiB, so a cached schema holds at
    /// most ~20 MiB (a long maxLength string makes a state per length).
    /// </summary>
    public const int MaxStates = 20_000;

    private const int Unknown = -2;
    private const byte AcceptingFlag = 1;
    private const byte FreeStringFlag = 2;
    private static readonly byte[] ShortEscapes = "\"\\/bfnrt"u8.ToArray();
    private static readonly int[] ShortEscapeChars = ['"', '\\', '/', '\b', '\f', '\n', '\r', '\t'];

    private readonly Dictionary<(SchemaFrame, int), SchemaConfig> _configs = [];
    private readonly Dictionary<StateKey, int> _stateIds = [];
    private readonly List<SchemaConfig[]> _states = [];
    private readonly Lock _gate = new();
    private int[]?[] _rows = new int[]?[64]; // replaced (copied) under the lock when full; read without it
    private byte[] _flags = new byte[64];
    private int[] _room = new int[64]; // characters a plain-content token may add here; -1 where it is not a plain string body
    private readonly Dictionary<(StringPattern, int, int, int), bool> _finish = [];
    private readonly List<SchemaConfig> _buffer = [];
    private readonly SchemaConfig _done;

    public SchemaDfa(SchemaNode root)
    {
        lock (_gate)
        {
            _done = Intern(DoneFrame.Instance, null);
            Start = AddState([Intern(new PendingFrame(root), null)]);
        }
    }

    /// <summary>The state before the first byte.</summary>
    public int Start { get; }

    /// <summary>How many states have been built (for the bench).</summary>
    public int StateCount => Volatile.Read(ref _stateCount);

    private int _stateCount;

    /// <summary>The state after <paramref name="b"/>, or -1 when no completion of the text has it next.</summary>
    public int Next(int state, byte b)
    {
        var row = Volatile.Read(ref _rows)[state];
        if (row is not null)
        {
            var known = Volatile.Read(ref row[b]);
            if (known != Unknown)
            {
                return known;
            }
        }
        lock (_gate)
        {
            row = _rows[state];
            if (row is null)
            {
                row = new int[256];
                Array.Fill(row, Unknown);
                Volatile.Write(ref _rows[state], row);
            }
            var next = row[b];
            if (next == Unknown)
            {
                next = Compute(state, b);
                Volatile.Write(ref row[b], next); // after the state's flags: a reader that sees the id sees them
            }
            return next;
        }
    }

    /// <summary>Whether the text so far is one whole value of the schema.</summary>
    public bool IsAccepting(int state) => (Volatile.Read(ref _flags)[state] & AcceptingFlag) != 0;

    /// <summary>
    /// In a string body without a pattern (every stack): how many more characters the roomiest stack takes, so a
    /// plain-content token (no quote, backslash, control or '&lt;') is allowed iff it has at most that many; -1 elsewhere.
    /// </summary>
    public int PlainRoom(int state) => Volatile.Read(ref _room)[state];

    /// <summary>Whether the state is inside an unconstrained string between characters, where plain content leaves it unchanged.</summary>
    public bool IsFreeStringBody(int state) => (Volatile.Read(ref _flags)[state] & FreeStringFlag) != 0;

    private int Compute(int state, byte b)
    {
        _buffer.Clear();
        foreach (var config in _states[state])
        {
            Step(config, b);
        }
        if (_buffer.Count == 0)
        {
            return -1;
        }
        var configs = _buffer.DistinctBy(c => c.Id).OrderBy(c => c.Id).ToArray();
        return _stateIds.TryGetValue(new StateKey(configs), out var id) ? id : AddState(configs);
    }

    private int AddState(SchemaConfig[] configs)
    {
        var id = _states.Count;
        _states.Add(configs);
        _stateIds.Add(new StateKey(configs), id);
        if (id == _rows.Length)
        {
            var rows = new int[]?[id * 2];
            Array.Copy(_rows, rows, id);
            var grown = new byte[id * 2];
            Array.Copy(_flags, grown, id);
            var room = new int[id * 2];
            Array.Copy(_room, room, id);
            Volatile.Write(ref _room, room);
            Volatile.Write(ref _flags, grown);
            Volatile.Write(ref _rows, rows);
        }
        var flags = configs.Any(IsAccepting) ? AcceptingFlag : (byte)0;
        if (configs is [{ Top: StringFrame { Lex: StringLex.Body, KeyMask: 0 } s }] && s.Node.Pattern is null && s.Node.Max == int.MaxValue && s.Length >= s.Node.Min)
        {
            flags |= FreeStringFlag;
        }
        _room[id] = configs.All(c => c.Top is StringFrame { Lex: StringLex.Body, Node.Pattern: null })
            ? configs.Max(c => ((StringFrame)c.Top).Node.Max == int.MaxValue ? int.MaxValue : ((StringFrame)c.Top).Node.Max - ((StringFrame)c.Top).Length)
            : -1; // with several strings (anyOf alternatives), a token is allowed if it fits the roomiest
        _flags[id] = flags;
        Volatile.Write(ref _stateCount, id + 1);
        return id;
    }

    private static bool IsAccepting(SchemaConfig c)
        => c.Top is DoneFrame || (c.Parent is null && c.Top is NumberFrame n && CanEnd(n));

    private SchemaConfig Intern(SchemaFrame top, SchemaConfig? parent)
    {
        ref var slot = ref CollectionsMarshal.GetValueRefOrAddDefault(_configs, (top, parent?.Id ?? -1), out var exists);
        if (!exists)
        {
            slot = new SchemaConfig(top, parent, _configs.Count - 1);
        }
        return slot!;
    }

    private void Emit(SchemaFrame top, SchemaConfig? parent) => _buffer.Add(Intern(top, parent));

    /// <summary>A value has just ended: the walk resumes in its parent (already in its after-value phase), or is done.</summary>
    private SchemaConfig Finished(SchemaConfig? parent) => parent ?? _done;

    private void Step(SchemaConfig c, byte b)
    {
        switch (c.Top)
        {
            case PendingFrame p:
                StartValue(p.Node, 0, c.Parent, b);
                break;
            case ObjectFrame o:
                StepObject(o, c.Parent, b);
                break;
            case ArrayFrame a:
                StepArray(a, c.Parent, b);
                break;
            case StringFrame s:
                StepString(s, c.Parent, b);
                break;
            case NumberFrame n:
                StepNumber(n, c.Parent, b);
                break;
            case LiteralFrame l:
                var value = l.Node.Values[l.Index];
                if (value[l.Pos] == b)
                {
                    if (l.Pos + 1 == value.Length)
                    {
                        _buffer.Add(Finished(c.Parent));
                    }
                    else
                    {
                        Emit(l with { Pos = l.Pos + 1 }, c.Parent);
                    }
                }
                break;
        }
    }

    /// <summary>Starts a value of <paramref name="node"/> inside a container at <paramref name="depth"/> (0: the root) with byte <paramref name="b"/>.</summary>
    private void StartValue(SchemaNode node, int depth, SchemaConfig? parent, byte b)
    {
        if (depth + node.MinDepth > MaxDepth)
        {
            return;
        }
        switch (node)
        {
            case AnyOfNode any:
                foreach (var alternative in any.Alternatives)
                {
                    StartValue(alternative, depth, parent, b);
                }
                break;
            case RefNode r:
                StartValue(r.Target, depth, parent, b);
                break;
            case ObjectNode o when b == '{':
                Emit(new ObjectFrame(o, depth + 1, ObjectPhase.Open, 0, -1, 0, 0), parent);
                break;
            case ArrayNode a when b == '[':
                Emit(new ArrayFrame(a, depth + 1, ArrayPhase.Open, 0, 0), parent);
                break;
            case StringNode s when b == '"':
                Emit(new StringFrame(s, StringLex.Body, 0, s.Pattern?.Automaton.Start ?? 0, 0, null, 0, 0), parent);
                break;
            case NumberNode n:
                var range = n.Range;
                if (b == '-' && range.Reachable(true, 0, 0, false, 0, 0))
                {
                    Emit(new NumberFrame(n, NumberPhase.Minus, true, 0, 0, 0, 0, 0), parent);
                }
                else if (b is >= (byte)'0' and <= (byte)'9' && range.Reachable(false, b - '0', 1, false, 0, 0))
                {
                    Emit(new NumberFrame(n, NumberPhase.Int, false, b - '0', 1, 0, 0, 0), parent);
                }
                break;
            case LiteralNode l:
                for (var i = 0; i < l.Values.Length; i++)
                {
                    if (l.Values[i][0] == b)
                    {
                        if (l.Values[i].Length == 1)
                        {
                            _buffer.Add(Finished(parent));
                        }
                        else
                        {
                            Emit(new LiteralFrame(l, i, 1), parent);
                        }
                    }
                }
                break;
        }
    }

    /// <summary>Whitespace between tokens: one space, or a newline and at most 2 × depth spaces (pretty-printing with a 2-space indent).</summary>
    private static bool Whitespace(int ws, int depth, byte b, out int next)
    {
        next = b switch
        {
            (byte)' ' when ws == 0 => 1,
            (byte)' ' when ws >= 2 && ws - 2 < 2 * depth => ws + 1,
            (byte)'\n' when ws == 0 => 2,
            _ => -1,
        };
        return next >= 0;
    }

    private static bool Fits(int depth, SchemaNode node) => depth + node.MinDepth <= MaxDepth;

    /// <summary>Whether a key can follow with declared properties from <paramref name="next"/> on.</summary>
    private static bool KeyCanFollow(ObjectFrame o, int next)
    {
        var node = o.Node;
        var last = Math.Min(node.FirstRequiredFrom[next], node.Properties.Length - 1);
        for (var i = next; i <= last; i++)
        {
            if (Fits(o.Depth, node.Properties[i].Value))
            {
                return true;
            }
        }
        return node.Additional is not null && node.FirstRequiredFrom[next] == node.Properties.Length && Fits(o.Depth, node.Additional);
    }

    private void StepObject(ObjectFrame o, SchemaConfig? parent, byte b)
    {
        var node = o.Node;
        var props = node.Properties;
        if (o.Phase != ObjectPhase.Key && Whitespace(o.Ws, o.Depth, b, out var ws))
        {
            Emit(o with { Ws = ws }, parent);
            return;
        }
        switch (o.Phase)
        {
            case ObjectPhase.Open or ObjectPhase.Comma:
                if (b == '"')
                {
                    var last = Math.Min(node.FirstRequiredFrom[o.Next], props.Length - 1);
                    for (var i = o.Next; i <= last; i++)
                    {
                        if (Fits(o.Depth, props[i].Value))
                        {
                            Emit(o with { Phase = ObjectPhase.Key, Prop = i, Pos = 0, Ws = 0 }, parent);
                        }
                    }
                    if (node.Additional is not null && node.FirstRequiredFrom[o.Next] == props.Length && Fits(o.Depth, node.Additional))
                    {
                        var afterKey = Intern(o with { Phase = ObjectPhase.Colon, Prop = -1, Next = props.Length, Ws = 0 }, parent);
                        var mask = props.Length >= 64 ? ulong.MaxValue : (1UL << props.Length) - 1;
                        Emit(new StringFrame(StringNode.Any, StringLex.Body, 0, 0, 0, node, mask, 0), afterKey);
                    }
                }
                else if (b == '}' && o.Phase == ObjectPhase.Open && node.FirstRequiredFrom[0] == props.Length)
                {
                    _buffer.Add(Finished(parent));
                }
                break;
            case ObjectPhase.Key:
                var key = props[o.Prop].Key;
                if (o.Pos < key.Length ? key[o.Pos] == b : b == '"')
                {
                    Emit(o.Pos < key.Length ? o with { Pos = o.Pos + 1 } : o with { Phase = ObjectPhase.Colon, Pos = 0 }, parent);
                }
                break;
            case ObjectPhase.Colon:
                if (b == ':')
                {
                    Emit(o with { Phase = ObjectPhase.BeforeValue, Ws = 0 }, parent);
                }
                break;
            case ObjectPhase.BeforeValue:
                var value = o.Prop >= 0 ? props[o.Prop].Value : node.Additional!;
                var after = Intern(o with { Phase = ObjectPhase.AfterValue, Next = o.Prop >= 0 ? o.Prop + 1 : props.Length, Prop = -1, Ws = 0 }, parent);
                StartValue(value, o.Depth, after, b);
                break;
            case ObjectPhase.AfterValue:
                if (b == ',' && KeyCanFollow(o, o.Next))
                {
                    Emit(o with { Phase = ObjectPhase.Comma, Ws = 0 }, parent);
                }
                else if (b == '}' && node.FirstRequiredFrom[o.Next] == props.Length)
                {
                    _buffer.Add(Finished(parent));
                }
                break;
        }
    }

    private void StepArray(ArrayFrame a, SchemaConfig? parent, byte b)
    {
        var node = a.Node;
        if (Whitespace(a.Ws, a.Depth, b, out var ws))
        {
            Emit(a with { Ws = ws }, parent);
            return;
        }
        var canAdd = a.Count < node.Max && Fits(a.Depth, node.Items);
        var cap = node.Max == int.MaxValue ? node.Min : node.Max;
        if (a.Phase != ArrayPhase.AfterValue && canAdd)
        {
            var after = Intern(a with { Phase = ArrayPhase.AfterValue, Count = Math.Min(a.Count + 1, cap), Ws = 0 }, parent);
            StartValue(node.Items, a.Depth, after, b);
        }
        if (a.Phase == ArrayPhase.AfterValue && b == ',' && canAdd)
        {
            Emit(a with { Phase = ArrayPhase.Comma, Ws = 0 }, parent);
        }
        else if (a.Phase != ArrayPhase.Comma && b == ']' && a.Count >= node.Min)
        {
            _buffer.Add(Finished(parent));
        }
    }

    private void StepString(StringFrame s, SchemaConfig? parent, byte b)
    {
        var node = s.Node;
        var pattern = node.Pattern;
        if (s.Lex == StringLex.Body && b == '"')
        {
            var closes = s.Length >= node.Min && (pattern is null || pattern.Automaton.IsAccepting(s.Pattern)) && !SpellsDeclaredKey(s);
            if (closes)
            {
                _buffer.Add(Finished(parent));
            }
            return;
        }
        if (s.KeyOf is not null)
        {
            s = TrackKey(s, b);
        }
        var hex = HexValue(b);
        switch (s.Lex)
        {
            case StringLex.Body:
                if (b == '\\')
                {
                    if (pattern is null ? s.Length < node.Max : ShortEscapeChars.Any(ch => CharAllowed(s, ch, out _)))
                    {
                        Emit(s with { Lex = StringLex.Escape, Length = pattern is null ? Math.Min(s.Length + 1, node.LengthCap) : s.Length }, parent);
                    }
                }
                else if (b < 0x20)
                {
                    return;
                }
                else if (pattern is not null)
                {
                    if (b < 0x7F && CharAllowed(s, b, out var next))
                    {
                        Emit(next, parent);
                    }
                }
                else if (s.Length < node.Max)
                {
                    var lex = b switch
                    {
                        < 0x80 => StringLex.Body,
                        >= 0xC2 and <= 0xDF => StringLex.Cont1,
                        0xE0 => StringLex.Cont2AfterE0,
                        0xED => StringLex.Cont2AfterED,
                        >= 0xE1 and <= 0xEF => StringLex.Cont2,
                        0xF0 => StringLex.Cont3AfterF0,
                        >= 0xF1 and <= 0xF3 => StringLex.Cont3,
                        0xF4 => StringLex.Cont3AfterF4,
                        _ => StringLex.Escape, // never starts a character: refused below
                    };
                    if (lex != StringLex.Escape)
                    {
                        Emit(s with { Lex = lex, Length = Math.Min(s.Length + 1, node.LengthCap) }, parent);
                    }
                }
                break;
            case StringLex.Escape:
                var e = ShortEscapes.AsSpan().IndexOf(b);
                if (e >= 0)
                {
                    if (pattern is null)
                    {
                        Emit(s with { Lex = StringLex.Body }, parent);
                    }
                    else if (CharAllowed(s, ShortEscapeChars[e], out var next))
                    {
                        Emit(next, parent);
                    }
                }
                else if (b == 'u' && pattern is null)
                {
                    Emit(s with { Lex = StringLex.U1, CodePoint = 0 }, parent);
                }
                break;
            case StringLex.U1:
                if (hex >= 0)
                {
                    Emit(s with { Lex = StringLex.U2, CodePoint = hex == 0xD ? 1 : 0 }, parent);
                }
                break;
            case StringLex.U2:
                // \uD8xx-\uDBxx opens a surrogate pair; \uDCxx-\uDFxx alone would be a lone low surrogate.
                if (hex >= 0 && !(s.CodePoint == 1 && hex >= 0xC))
                {
                    Emit(s with { Lex = StringLex.U3, CodePoint = s.CodePoint == 1 && hex >= 8 ? 2 : 0 }, parent);
                }
                break;
            case StringLex.U3:
                if (hex >= 0)
                {
                    Emit(s with { Lex = StringLex.U4 }, parent);
                }
                break;
            case StringLex.U4:
                if (hex >= 0)
                {
                    Emit(s with { Lex = s.CodePoint == 2 ? StringLex.LowBackslash : StringLex.Body, CodePoint = 0 }, parent);
                }
                break;
            case StringLex.LowBackslash:
                Go(b == '\\', StringLex.LowU);
                break;
            case StringLex.LowU:
                Go(b == 'u', StringLex.LowU1);
                break;
            case StringLex.LowU1:
                Go(b is (byte)'D' or (byte)'d', StringLex.LowU2);
                break;
            case StringLex.LowU2:
                Go(hex >= 0xC, StringLex.LowU3);
                break;
            case StringLex.LowU3:
                Go(hex >= 0, StringLex.LowU4);
                break;
            case StringLex.LowU4:
                Go(hex >= 0, StringLex.Body);
                break;
            case StringLex.Cont1:
                Go(b is >= 0x80 and <= 0xBF, StringLex.Body);
                break;
            case StringLex.Cont2:
                Go(b is >= 0x80 and <= 0xBF, StringLex.Cont1);
                break;
            case StringLex.Cont2AfterE0:
                Go(b is >= 0xA0 and <= 0xBF, StringLex.Cont1); // no overlong 3-byte forms
                break;
            case StringLex.Cont2AfterED:
                Go(b is >= 0x80 and <= 0x9F, StringLex.Cont1); // no UTF-16 surrogates
                break;
            case StringLex.Cont3:
                Go(b is >= 0x80 and <= 0xBF, StringLex.Cont2);
                break;
            case StringLex.Cont3AfterF0:
                Go(b is >= 0x90 and <= 0xBF, StringLex.Cont2); // no overlong 4-byte forms
                break;
            case StringLex.Cont3AfterF4:
                Go(b is >= 0x80 and <= 0x8F, StringLex.Cont2); // nothing above U+10FFFF
                break;
        }

        void Go(bool ok, StringLex lex)
        {
            if (ok)
            {
                Emit(s with { Lex = lex }, parent);
            }
        }
    }

    /// <summary>Whether pattern string <paramref name="s"/> may take character <paramref name="ch"/> and still finish within its lengths.</summary>
    private bool CharAllowed(StringFrame s, int ch, out StringFrame next)
    {
        var node = s.Node;
        var pattern = node.Pattern!;
        next = s;
        var state = pattern.Automaton.Next(s.Pattern, ch);
        var length = s.Length + 1;
        if (state < 0 || length > node.Max)
        {
            return false;
        }
        var minMore = Math.Max(0, node.Min - length);
        var maxMore = node.Max == int.MaxValue ? int.MaxValue : node.Max - length;
        ref var ok = ref CollectionsMarshal.GetValueRefOrAddDefault(_finish, (pattern, state, minMore, maxMore), out var known);
        if (!known)
        {
            ok = pattern.CanFinish(state, minMore, maxMore);
        }
        next = s with { Lex = StringLex.Body, Pattern = state, Length = Math.Min(length, node.LengthCap) };
        return ok;
    }

    /// <summary>Narrows an extra key's set of declared keys its raw bytes still spell (past 64 properties, the first 64 are checked).</summary>
    private static StringFrame TrackKey(StringFrame s, byte b)
    {
        if (s.KeyMask == 0)
        {
            return s;
        }
        var props = s.KeyOf!.Properties;
        var mask = 0UL;
        for (var i = 0; i < Math.Min(64, props.Length); i++)
        {
            if ((s.KeyMask & (1UL << i)) != 0 && props[i].Key.Length > s.KeyPos && props[i].Key[s.KeyPos] == b)
            {
                mask |= 1UL << i;
            }
        }
        return s with { KeyMask = mask, KeyPos = mask == 0 ? 0 : s.KeyPos + 1 };
    }

    private static bool SpellsDeclaredKey(StringFrame s)
    {
        if (s.KeyOf is null || s.KeyMask == 0)
        {
            return false;
        }
        var props = s.KeyOf.Properties;
        for (var i = 0; i < Math.Min(64, props.Length); i++)
        {
            if ((s.KeyMask & (1UL << i)) != 0 && props[i].Key.Length == s.KeyPos)
            {
                return true;
            }
        }
        return false;
    }

    private void StepNumber(NumberFrame n, SchemaConfig? parent, byte b)
    {
        var range = n.Node.Range;
        var digit = b is >= (byte)'0' and <= (byte)'9' ? b - '0' : -1;
        var exponent = b is (byte)'e' or (byte)'E' && !range.Integer && !range.Bounded;
        switch (n.Phase)
        {
            case NumberPhase.Minus:
                if (digit >= 0 && range.Reachable(true, digit, 1, false, 0, 0))
                {
                    Emit(n with { Phase = NumberPhase.Int, Int = digit, IntDigits = 1 }, parent);
                }
                return;
            case NumberPhase.Int:
                if (digit >= 0)
                {
                    var leadingZero = n.IntDigits == 1 && n.Int == 0;
                    if (!leadingZero && n.IntDigits < NumberRange.MaxIntegerDigits && range.Reachable(n.Negative, n.Int * 10 + digit, n.IntDigits + 1, false, 0, 0))
                    {
                        Emit(n with { Int = n.Int * 10 + digit, IntDigits = n.IntDigits + 1 }, parent);
                    }
                    return;
                }
                if (b == '.' && !range.Integer)
                {
                    if (range.Reachable(n.Negative, n.Int, n.IntDigits, true, 0, 0))
                    {
                        Emit(n with { Phase = NumberPhase.Dot }, parent);
                    }
                    return;
                }
                break;
            case NumberPhase.Dot:
                if (digit >= 0 && range.Reachable(n.Negative, n.Int, n.IntDigits, true, digit, 1))
                {
                    Emit(n with { Phase = NumberPhase.Fraction, Fraction = digit, FractionDigits = 1 }, parent);
                }
                return;
            case NumberPhase.Fraction:
                if (digit >= 0)
                {
                    if (n.FractionDigits < NumberRange.MaxFractionDigits && range.Reachable(n.Negative, n.Int, n.IntDigits, true, n.Fraction * 10 + digit, n.FractionDigits + 1))
                    {
                        Emit(n with { Fraction = n.Fraction * 10 + digit, FractionDigits = n.FractionDigits + 1 }, parent);
                    }
                    return;
                }
                break;
            case NumberPhase.E:
                if (b is (byte)'+' or (byte)'-')
                {
                    Emit(n with { Phase = NumberPhase.ExponentSign }, parent);
                    return;
                }
                goto case NumberPhase.ExponentSign;
            case NumberPhase.ExponentSign:
                if (digit >= 0)
                {
                    Emit(n with { Phase = NumberPhase.Exponent, ExponentDigits = 1 }, parent);
                }
                return;
            case NumberPhase.Exponent:
                if (digit >= 0)
                {
                    if (n.ExponentDigits < NumberRange.MaxExponentDigits)
                    {
                        Emit(n with { ExponentDigits = n.ExponentDigits + 1 }, parent);
                    }
                    return;
                }
                break;
        }
        if (exponent && n.Phase is NumberPhase.Int or NumberPhase.Fraction)
        {
            Emit(n with { Phase = NumberPhase.E }, parent);
            return;
        }
        // A number ends at the first byte that cannot continue it; that byte is then read by what follows the value.
        if (CanEnd(n))
        {
            Step(Finished(parent), b);
        }
    }

    private static bool CanEnd(NumberFrame n) => n.Phase switch
    {
        NumberPhase.Int => n.Node.Range.Contains(n.Negative, n.Int, 0, 0),
        NumberPhase.Fraction => n.Node.Range.Contains(n.Negative, n.Int, n.Fraction, n.FractionDigits),
        NumberPhase.Exponent => true,
        _ => false,
    };

    private static int HexValue(byte b) => b switch
    {
        >= (byte)'0' and <= (byte)'9' => b - '0',
        >= (byte)'a' and <= (byte)'f' => b - 'a' + 10,
        >= (byte)'A' and <= (byte)'F' => b - 'A' + 10,
        _ => -1,
    };

    /// <summary>A set of interned stacks, sorted by id, compared by content.</summary>
    private sealed class StateKey(SchemaConfig[] configs) : IEquatable<StateKey>
    {
        private readonly int _hash = Hash(configs);

        public bool Equals(StateKey? other)
        {
            if (other is null || other._hash != _hash || other.Configs.Length != Configs.Length)
            {
                return false;
            }
            for (var i = 0; i < Configs.Length; i++)
            {
                if (other.Configs[i] != Configs[i])
                {
                    return false;
                }
            }
            return true;
        }

        public override bool Equals(object? obj) => Equals(obj as StateKey);

        public override int GetHashCode() => _hash;

        private SchemaConfig[] Configs { get; } = configs;

        private static int Hash(SchemaConfig[] configs)
        {
            var h = new HashCode();
            foreach (var c in configs)
            {
                h.Add(c.Id);
            }
            return h.ToHashCode();
        }
    }
}
