namespace Qwen.Tokenization.Constraints.Schema;

/// <summary>A string of <see cref="Min"/> to <see cref="Max"/> code points, optionally matching <see cref="Pattern"/>.</summary>
internal sealed class StringNode(int min, int max, StringPattern? pattern) : SchemaNode
{
    /// <summary>Any string: object keys beyond the declared ones, and untyped values.</summary>
    public static readonly StringNode Any = new(0, int.MaxValue, null) { MinDepth = 0 };

    public int Min { get; } = min;

    public int Max { get; } = max;

    public StringPattern? Pattern { get; } = pattern;

    /// <summary>Where the length counter stops counting: past it, lengths are alike for the constraint.</summary>
    public int LengthCap => Max == int.MaxValue ? Min : Max;
}
