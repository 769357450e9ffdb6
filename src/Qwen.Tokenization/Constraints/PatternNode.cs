namespace Qwen.Tokenization.Constraints;

/// <summary>
/// One node of a parsed pattern: a set of code points (one step), a sequence, an alternation or a counted repeat.
/// Groups, lazy quantifiers and anchors leave no node: groups only bracket, laziness does not change what matches
/// a whole string, and the parser turns anchors into the presence or absence of the search prefix and suffix.
/// </summary>
internal sealed class PatternNode
{
    /// <summary>The <see cref="Max"/> of an unbounded repeat.</summary>
    public const int Unbounded = -1;

    private PatternNode(PatternNodeKind kind, CodePointSet? set, IReadOnlyList<PatternNode> children, int min, int max)
    {
        Kind = kind;
        Set = set;
        Children = children;
        Min = min;
        Max = max;
    }

    /// <summary>What the node matches.</summary>
    public PatternNodeKind Kind { get; }

    /// <summary>The code points one step matches (for <see cref="PatternNodeKind.Set"/>).</summary>
    public CodePointSet? Set { get; }

    /// <summary>The parts in order (sequence), the choices (alternation) or the one repeated node (repeat).</summary>
    public IReadOnlyList<PatternNode> Children { get; }

    /// <summary>The fewest repetitions (for <see cref="PatternNodeKind.Repeat"/>).</summary>
    public int Min { get; }

    /// <summary>The most repetitions, or <see cref="Unbounded"/> (for <see cref="PatternNodeKind.Repeat"/>).</summary>
    public int Max { get; }

    /// <summary>One code point from <paramref name="set"/>.</summary>
    public static PatternNode OneOf(CodePointSet set) => new(PatternNodeKind.Set, set, [], 0, 0);

    /// <summary>The parts one after the other (the empty sequence matches the empty string).</summary>
    public static PatternNode Sequence(IReadOnlyList<PatternNode> parts)
        => parts.Count == 1 ? parts[0] : new(PatternNodeKind.Sequence, null, parts, 0, 0);

    /// <summary>Any one of the choices.</summary>
    public static PatternNode Alternation(IReadOnlyList<PatternNode> choices)
        => choices.Count == 1 ? choices[0] : new(PatternNodeKind.Alternation, null, choices, 0, 0);

    /// <summary><paramref name="node"/> repeated <paramref name="min"/> to <paramref name="max"/> times (<see cref="Unbounded"/> for no limit).</summary>
    public static PatternNode Repeat(PatternNode node, int min, int max) => new(PatternNodeKind.Repeat, null, [node], min, max);

    /// <summary>
    /// Any string of scalar values as the unanchored search's suffix. The parser puts it only last in a top-level
    /// alternative, so once the NFA reaches its loop every continuation is accepted: the DFA builder relies on that.
    /// </summary>
    public static PatternNode AnySuffix { get; } = AnyString();

    /// <summary>Any string of scalar values: the unanchored search's prefix.</summary>
    public static PatternNode AnyString() => Repeat(OneOf(CodePointSet.Any), 0, Unbounded);
}
