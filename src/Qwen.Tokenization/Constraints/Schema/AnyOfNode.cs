namespace Qwen.Tokenization.Constraints.Schema;

/// <summary>Any of the alternatives (anyOf, oneOf, a type list, an untyped schema).</summary>
internal sealed class AnyOfNode(SchemaNode[] alternatives) : SchemaNode
{
    public SchemaNode[] Alternatives { get; } = alternatives;
}
