namespace Qwen.Tokenization.Constraints.Schema;

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
