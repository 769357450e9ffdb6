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

/// <summary>Any of the alternatives (anyOf, oneOf, a type list, an untyped schema).</summary>
internal sealed class AnyOfNode(SchemaNode[] alternatives) : SchemaNode
{
    public SchemaNode[] Alternatives { get; } = alternatives;
}

/// <summary>A <c>$ref</c>: the target is filled in once every definition is compiled (it may be recursive).</summary>
internal sealed class RefNode : SchemaNode
{
    public SchemaNode Target { get; set; } = null!;
}

/// <summary>An object: declared properties in schema order (keys as their escaped JSON bytes), then extra keys if <see cref="Additional"/> is set.</summary>
internal sealed class ObjectNode(ObjectProperty[] properties, SchemaNode? additional) : SchemaNode
{
    public ObjectProperty[] Properties { get; } = properties;

    public SchemaNode? Additional { get; } = additional;

    /// <summary>For each index n (0..Length): the first required property at or after n, or Length if none.</summary>
    public int[] FirstRequiredFrom { get; } = FirstRequired(properties);

    private static int[] FirstRequired(ObjectProperty[] properties)
    {
        var first = new int[properties.Length + 1];
        first[properties.Length] = properties.Length;
        for (var i = properties.Length - 1; i >= 0; i--)
        {
            first[i] = properties[i].Required ? i : first[i + 1];
        }
        return first;
    }
}

/// <summary>A declared property: its key's bytes as written between the quotes, its value's schema, and whether it is required.</summary>
internal sealed record ObjectProperty(byte[] Key, SchemaNode Value, bool Required);

/// <summary>An array of <see cref="Items"/>, between <see cref="Min"/> and <see cref="Max"/> items.</summary>
internal sealed class ArrayNode(SchemaNode items, int min, int max) : SchemaNode
{
    public SchemaNode Items { get; } = items;

    public int Min { get; } = min;

    public int Max { get; } = max;
}

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

/// <summary>A number (or integer) within <see cref="Range"/>.</summary>
internal sealed class NumberNode(NumberRange range) : SchemaNode
{
    public NumberRange Range { get; } = range;
}

/// <summary>One of a fixed set of JSON texts (enum, const, true, false, null), each in its canonical bytes.</summary>
internal sealed class LiteralNode(byte[][] values) : SchemaNode
{
    public byte[][] Values { get; } = values;
}
