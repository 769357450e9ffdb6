using System.Text.Json;
using Qwen.Tokenization.Constraints.Schema;

namespace Qwen.Tokenization.Constraints;

/// <summary>
/// A JSON Schema compiled for constrained generation (see "JSON Schema support" in the project README for the keywords).
/// Immutable and thread-safe: the server caches one per schema text and shares it between concurrent requests; each
/// <see cref="TokenGrammar"/> builds its own lazily determinized walk over it.
/// </summary>
public sealed class CompiledJsonSchema
{
    private CompiledJsonSchema(SchemaNode root) => Root = root;

    /// <summary>Any JSON object, keys and values free (what <c>json_object</c> and non-strict tool arguments use).</summary>
    public static CompiledJsonSchema AnyObject { get; } = new(new ObjectNode([], SchemaCompiler.AnyJson) { MinDepth = 1 });

    /// <summary>The compiled graph's root.</summary>
    internal SchemaNode Root { get; }

    /// <summary>Compiles <paramref name="schema"/>; throws <see cref="JsonSchemaException"/> for anything unsupported, naming where and why.</summary>
    public static CompiledJsonSchema Compile(JsonElement schema) => new(SchemaCompiler.Compile(schema));
}
