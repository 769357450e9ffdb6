namespace Qwen.Tokenization.Constraints.Schema;

/// <summary>
/// One stack of the walk (top frame over its parent stack), interned by <see cref="SchemaDfa"/> so that equal stacks
/// are one object with one <see cref="Id"/>: a DFA state is then a sorted set of ids.
/// </summary>
internal sealed class SchemaConfig(SchemaFrame top, SchemaConfig? parent, int id)
{
    public SchemaFrame Top { get; } = top;

    public SchemaConfig? Parent { get; } = parent;

    public int Id { get; } = id;
}
