namespace Qwen.Tokenization.Constraints.Schema;

/// <summary>An array of <see cref="Items"/>, between <see cref="Min"/> and <see cref="Max"/> items.</summary>
internal sealed class ArrayNode(SchemaNode items, int min, int max) : SchemaNode
{
    public SchemaNode Items { get; } = items;

    public int Min { get; } = min;

    public int Max { get; } = max;
}
