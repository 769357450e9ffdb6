using System.Text.Json;
using Qwen.Tokenization.Constraints;

namespace Qwen.Tokenization.Tests.Constraints;

/// <summary>Schema grammars over the real Qwen2.5 vocabulary, from schema text, for the schema tests.</summary>
internal static class SchemaGrammars
{
    public static CompiledJsonSchema Compile(string schema)
    {
        using var doc = JsonDocument.Parse(schema);
        return CompiledJsonSchema.Compile(doc.RootElement);
    }

    public static TokenGrammar For(string schema) => TokenGrammar.JsonSchema(GrammarDriver.Tokens, Compile(schema), GrammarDriver.StopIds);

    /// <summary>Whether the whole of <paramref name="text"/> is allowed byte by byte and is then complete.</summary>
    public static bool Accepts(string schema, string text)
    {
        var grammar = For(schema);
        return GrammarDriver.FeedBytes(grammar, text) == -1 && grammar.IsComplete && grammar.IsAllowed(GrammarDriver.ImEnd);
    }

    /// <summary>The index of the first byte of <paramref name="text"/> the grammar refuses, or -1.</summary>
    public static int FirstRefused(string schema, string text) => GrammarDriver.FeedBytes(For(schema), text);

    /// <summary>The exception compiling <paramref name="schema"/> throws.</summary>
    public static JsonSchemaException Refusal(string schema) => Assert.Throws<JsonSchemaException>(() => Compile(schema));
}
