namespace Qwen.Tokenization.Constraints;

/// <summary>
/// A JSON Schema that <see cref="CompiledJsonSchema.Compile"/> cannot turn into a constraint: an unsupported keyword,
/// a bad <c>$ref</c>, an empty <c>enum</c>, contradicting bounds. <see cref="Path"/> says where (the server reports it
/// as the parameter in error), the message names the keyword and why.
/// </summary>
public sealed class JsonSchemaException : Exception
{
    /// <summary>Creates the exception for the keyword at <paramref name="path"/>.</summary>
    public JsonSchemaException(string path, string message)
        : base(message)
    {
        Path = path;
    }

    /// <summary>A JSON-pointer-like path inside the schema to the offending keyword, e.g. <c>/properties/when/format</c>; empty for the root.</summary>
    public string Path { get; }
}
