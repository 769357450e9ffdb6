namespace Qwen.Tokenization.Constraints.Schema;

/// <summary>A number (or integer) within <see cref="Range"/>.</summary>
internal sealed class NumberNode(NumberRange range) : SchemaNode
{
    public NumberRange Range { get; } = range;
}
