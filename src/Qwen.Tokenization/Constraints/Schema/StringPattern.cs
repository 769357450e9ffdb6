namespace Qwen.Tokenization.Constraints.Schema;

/// <summary>
/// A string's <c>pattern</c> or <c>format</c> as the walk uses it: a <see cref="PatternAutomaton"/> over code points,
/// with the string's content restricted to printable ASCII (and the escapes \" \\ \/ \b \f \n \r \t), so each byte is
/// one character and the walk never has to guess at a multi-byte character the pattern may refuse. A character is
/// allowed only if an ASCII completion within the length bounds still exists (<see cref="CanFinish"/>, computed here by
/// a breadth-first walk over the ASCII alphabet rather than the automaton's own over all code points, so that the
/// restriction cannot leave a dead end). Immutable; the completion memo lives in each <see cref="SchemaDfa"/>.
/// </summary>
internal sealed class StringPattern(PatternAutomaton automaton, string source)
{
    /// <summary>The characters a pattern string may hold: printable ASCII, tab, newline, carriage return, backspace, form feed.</summary>
    public static readonly int[] Alphabet = [.. Enumerable.Range(0x20, 0x7F - 0x20), '\t', '\n', '\r', '\b', '\f'];

    /// <summary>The automaton.</summary>
    public PatternAutomaton Automaton { get; } = automaton;

    /// <summary>The pattern or format as the schema wrote it (for messages).</summary>
    public string Source { get; } = source;

    /// <summary>Whether from <paramref name="state"/> some ASCII completion of <paramref name="minMore"/> to <paramref name="maxMore"/> characters is accepted.</summary>
    public bool CanFinish(int state, int minMore, int maxMore)
    {
        // Layer t holds the states t characters away; layers repeat eventually (finitely many sets), so the walk stops at the first repeat.
        var seen = new Dictionary<string, int>();
        var layer = new SortedSet<int> { state };
        for (var t = 0; t <= maxMore; t++)
        {
            if (layer.Count == 0)
            {
                return false;
            }
            if (t >= minMore && layer.Any(Automaton.IsAccepting))
            {
                return true;
            }
            var key = string.Join(',', layer);
            if (seen.TryGetValue(key, out var earlier))
            {
                // From here layers cycle with period t - earlier; every layer of the cycle has been checked at some t' < t,
                // so a later hit needs t' + k·period in [minMore, maxMore]: check each cycle layer's first such time.
                var period = t - earlier;
                foreach (var (cycleKey, at) in seen.Where(kv => kv.Value >= earlier))
                {
                    var first = at >= minMore ? at : at + (minMore - at + period - 1) / period * period;
                    if (first <= maxMore && cycleKey.Split(',').Select(int.Parse).Any(Automaton.IsAccepting))
                    {
                        return true;
                    }
                }
                return false;
            }
            seen[key] = t;
            var next = new SortedSet<int>();
            foreach (var s in layer)
            {
                foreach (var c in Alphabet)
                {
                    var n = Automaton.Next(s, c);
                    if (n >= 0)
                    {
                        next.Add(n);
                    }
                }
            }
            layer = next;
        }
        return false;
    }
}
