namespace Qwen.Tokenization.Constraints;

/// <summary>
/// A Thompson NFA over code-point ranges built from a <see cref="PatternNode"/>: one start, one accepting state,
/// epsilon edges and range edges. A counted repeat is expanded into copies of its body, so the state count is
/// limited (<see cref="MaxStates"/>) and a larger pattern is refused rather than built.
/// </summary>
internal sealed class PatternNfa
{
    /// <summary>The most NFA states a pattern may need (a counted repeat multiplies its body).</summary>
    public const int MaxStates = 10_000;

    private readonly List<List<int>> _epsilon = [];
    private readonly List<List<(int Lo, int Hi, int Target)>> _edges = [];
    private readonly List<int> _universal = [];

    private PatternNfa()
    {
    }

    /// <summary>The initial state.</summary>
    public int Start { get; private set; }

    /// <summary>The one accepting state (it has no outgoing edges).</summary>
    public int Accept { get; private set; }

    /// <summary>The number of states.</summary>
    public int StateCount => _epsilon.Count;

    /// <summary>The loop states of <see cref="PatternNode.AnySuffix"/>: from each, every string is accepted.</summary>
    public IReadOnlyList<int> UniversalStates => _universal;

    /// <summary>The states reached from <paramref name="state"/> without reading a code point.</summary>
    public IReadOnlyList<int> EpsilonFrom(int state) => _epsilon[state];

    /// <summary>The code-point ranges leaving <paramref name="state"/> and where each leads.</summary>
    public IReadOnlyList<(int Lo, int Hi, int Target)> EdgesFrom(int state) => _edges[state];

    /// <summary>The NFA for <paramref name="root"/>; throws <see cref="NotSupportedException"/> past <see cref="MaxStates"/>.</summary>
    public static PatternNfa Build(PatternNode root)
    {
        var nfa = new PatternNfa();
        var (start, end) = nfa.Add(root);
        nfa.Start = start;
        nfa.Accept = end;
        return nfa;
    }

    private int NewState()
    {
        if (_epsilon.Count == MaxStates)
        {
            throw new NotSupportedException($"the pattern is too large: it needs more than {MaxStates} NFA states (counted repeats expand)");
        }
        _epsilon.Add([]);
        _edges.Add([]);
        return _epsilon.Count - 1;
    }

    /// <summary>Adds a fragment matching <paramref name="node"/>, entered at its start and left at its end (which has no edges yet).</summary>
    private (int Start, int End) Add(PatternNode node) => node.Kind switch
    {
        PatternNodeKind.Set => AddSet(node.Set!),
        PatternNodeKind.Sequence => AddSequence(node.Children),
        PatternNodeKind.Alternation => AddAlternation(node.Children),
        _ when ReferenceEquals(node, PatternNode.AnySuffix) => AddSuffix(node),
        _ => AddRepeat(node.Children[0], node.Min, node.Max),
    };

    private (int Start, int End) AddSuffix(PatternNode suffix)
    {
        var (start, loop) = AddRepeat(suffix.Children[0], suffix.Min, suffix.Max);
        _universal.Add(loop);
        return (start, loop);
    }

    private (int Start, int End) AddSet(CodePointSet set)
    {
        var start = NewState();
        var end = NewState();
        for (var i = 0; i < set.RangeCount; i++)
        {
            _edges[start].Add((set.Low(i), set.High(i), end));
        }
        return (start, end);
    }

    private (int Start, int End) AddSequence(IReadOnlyList<PatternNode> parts)
    {
        var start = NewState();
        var current = start;
        foreach (var part in parts)
        {
            var (s, e) = Add(part);
            _epsilon[current].Add(s);
            current = e;
        }
        return (start, current);
    }

    private (int Start, int End) AddAlternation(IReadOnlyList<PatternNode> choices)
    {
        var start = NewState();
        var end = NewState();
        foreach (var choice in choices)
        {
            var (s, e) = Add(choice);
            _epsilon[start].Add(s);
            _epsilon[e].Add(end);
        }
        return (start, end);
    }

    // body{min,max}: min mandatory copies, then either a loop (unbounded) or max-min optional copies, each able to skip to the end.
    private (int Start, int End) AddRepeat(PatternNode body, int min, int max)
    {
        var start = NewState();
        var current = start;
        for (var i = 0; i < min; i++)
        {
            var (s, e) = Add(body);
            _epsilon[current].Add(s);
            current = e;
        }
        if (max == PatternNode.Unbounded)
        {
            var loop = NewState();
            _epsilon[current].Add(loop);
            var (s, e) = Add(body);
            _epsilon[loop].Add(s);
            _epsilon[e].Add(loop);
            return (start, loop);
        }
        var end = NewState();
        for (var i = min; i < max; i++)
        {
            _epsilon[current].Add(end);
            var (s, e) = Add(body);
            _epsilon[current].Add(s);
            current = e;
        }
        _epsilon[current].Add(end);
        return (start, end);
    }
}
