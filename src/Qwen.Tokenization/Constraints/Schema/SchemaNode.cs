namespace Qwen.Tokenization.Constraints.Schema;

/// <summary>
/// One compiled schema (immutable once <see cref="SchemaCompiler"/> returns): the runtime walks these byte by byte.
/// <see cref="MinDepth"/> is how many container levels its smallest instance needs (int.MaxValue: no finite instance),
/// so a value is started only where it can still close within <see cref="SchemaDfa.MaxDepth"/>.
/// </summary>
internal abstract class SchemaNode
{
    /// <summary>Container levels the smallest instance needs (0 for a scalar); set by the compiler's fixed point.</summary>
    public int MinDepth { get; set; } = int.MaxValue;
}
