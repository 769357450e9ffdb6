namespace Qwen.Tokenization.Constraints;

/// <summary>What a <see cref="PatternNode"/> matches.</summary>
internal enum PatternNodeKind
{
    /// <summary>One code point from a set.</summary>
    Set,

    /// <summary>The children one after the other.</summary>
    Sequence,

    /// <summary>Any one child.</summary>
    Alternation,

    /// <summary>The one child a counted number of times.</summary>
    Repeat,
}
