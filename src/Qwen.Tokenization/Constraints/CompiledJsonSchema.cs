using System.Text.Json;
using Qwen.Tokenization.Constraints.Schema;

namespace Qwen.Tokenization.Constraints;

/// <summary>
/// A JSON Schema compiled for constrained generation (see "JSON Schema support" in the project README for the keywords).
/// Thread-safe: the server caches one per schema text and shares it between concurrent requests. The schema itself is
/// immutable; the lazily determinized walk over it (<see cref="SchemaDfa"/>) is shared by its grammars and grows as they
/// go, so a cached schema gets faster with use.
/// </summary>
public sealed class CompiledJsonSchema
{
    private SchemaDfa? _walk;

    private CompiledJsonSchema(SchemaNode root) => Root = root;

    /// <summary>Any JSON object, keys and values free (what <c>json_object</c> and non-strict tool arguments use).</summary>
    public static CompiledJsonSchema AnyObject { get; } = new(new ObjectNode([], SchemaCompiler.AnyJson) { MinDepth = 1 });

    /// <summary>The compiled graph's root.</summary>
    internal SchemaNode Root { get; }

    /// <summary>The shared walk, or a private one once the shared one has reached <see cref="SchemaDfa.MaxStates"/>.</summary>
    internal SchemaDfa NewWalk()
    {
        var walk = _walk;
        if (walk is null)
        {
            walk = new SchemaDfa(Root);
            walk = Interlocked.CompareExchange(ref _walk, walk, null) ?? walk;
        }
        return walk.StateCount < SchemaDfa.MaxStates ? walk : new SchemaDfa(Root);
    }

    /// <summary>Compiles <paramref name="schema"/>; throws <see cref="JsonSchemaException"/> for anything unsupported, naming where and why.</summary>
    public static CompiledJsonSchema Compile(JsonElement schema) => new(SchemaCompiler.Compile(schema));
}
