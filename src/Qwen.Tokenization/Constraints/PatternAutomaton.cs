using System.Collections.Concurrent;

namespace Qwen.Tokenization.Constraints;

/// <summary>
/// A deterministic matcher over Unicode code points for a JSON Schema <c>pattern</c> (ECMA-262 syntax, a subset) or
/// <c>format</c>. Matching is a search, as JSON Schema requires: a whole string is accepted iff the pattern matches
/// somewhere in it, unless <c>^</c>/<c>$</c> anchor it. Built eagerly (parse, NFA, DFA, dead states removed,
/// completion lengths), then immutable: one instance may be shared by requests on any thread.
/// Walk it with <see cref="Next"/> from <see cref="Start"/>: a state it returns can always still reach acceptance.
/// </summary>
public sealed class PatternAutomaton
{
    private static readonly ConcurrentDictionary<string, PatternAutomaton> Formats = new(StringComparer.Ordinal);

    private readonly PatternDfa _dfa;
    private readonly CompletionLengths _lengths;

    private PatternAutomaton(PatternDfa dfa)
    {
        _dfa = dfa;
        _lengths = new CompletionLengths(dfa);
    }

    /// <summary>The state before any code point.</summary>
    public int Start => 0;

    /// <summary>The number of states (they are numbered 0 to StateCount-1).</summary>
    internal int StateCount => _dfa.StateCount;

    /// <summary>The DFA itself, for tests that walk its transitions.</summary>
    internal PatternDfa Dfa => _dfa;

    /// <summary>Whether completion lengths are exact for every length (otherwise exact below <see cref="CompletionLengths.StoredLengths"/>).</summary>
    internal bool CompletionLengthsExact => _lengths.IsExact;

    /// <summary>
    /// Compiles an ECMA-262 pattern. Throws <see cref="NotSupportedException"/> naming the construct for what is
    /// not supported (backreferences, lookaround, word boundaries, <c>\p{..}</c>, inline flags, inner anchors, too
    /// large an automaton) and <see cref="ArgumentException"/> for a malformed pattern.
    /// </summary>
    public static PatternAutomaton Compile(string ecmaPattern)
    {
        ArgumentNullException.ThrowIfNull(ecmaPattern);
        return new PatternAutomaton(PatternDfa.FromNfa(PatternNfa.Build(PatternParser.Parse(ecmaPattern))));
    }

    /// <summary>The automaton of a JSON Schema format (date, time, date-time, uuid, email, ipv4, hostname); null for any other format.</summary>
    public static PatternAutomaton? ForFormat(string format)
    {
        ArgumentNullException.ThrowIfNull(format);
        return PatternFormats.Patterns.TryGetValue(format, out var pattern)
            ? Formats.GetOrAdd(format, _ => Compile(pattern))
            : null;
    }

    /// <summary>The state after <paramref name="codePoint"/>, or -1 when no match can continue (never a state that cannot reach acceptance).</summary>
    public int Next(int state, int codePoint)
    {
        CheckState(state);
        return (uint)codePoint <= CodePointSet.MaxCodePoint ? _dfa.Next(state, codePoint) : -1;
    }

    /// <summary>Whether the code points read so far are accepted as a whole string.</summary>
    public bool IsAccepting(int state)
    {
        CheckState(state);
        return _dfa.IsAccepting(state);
    }

    /// <summary>
    /// Whether some accepting completion of between <paramref name="minMore"/> and <paramref name="maxMore"/> more code
    /// points exists (<paramref name="maxMore"/> may be <see cref="int.MaxValue"/>). Exact, except for automata whose
    /// completion lengths do not become periodic within 4096 code points: there lengths from that bound on answer false.
    /// </summary>
    public bool CanFinish(int state, int minMore, int maxMore)
    {
        CheckState(state);
        ArgumentOutOfRangeException.ThrowIfNegative(minMore);
        return _lengths.Any(state, minMore, maxMore);
    }

    private void CheckState(int state)
    {
        if ((uint)state >= (uint)_dfa.StateCount)
        {
            throw new ArgumentOutOfRangeException(nameof(state), state, $"state must be in 0..{_dfa.StateCount - 1}");
        }
    }
}
