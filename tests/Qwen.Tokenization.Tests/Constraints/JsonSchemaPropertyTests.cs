using System.Text.Json;
using System.Text.Json.Nodes;
using Json.Schema;
using Qwen.Tokenization.Constraints;
using Xunit.Abstractions;

namespace Qwen.Tokenization.Tests.Constraints;

/// <summary>
/// Random schemas, random walks over the real vocabulary: whatever a sampler that only takes allowed tokens writes
/// parses (System.Text.Json) and validates against the schema (JsonSchema.Net 7.4.0, formats asserted), and no step
/// is a dead end. The oracle knows nothing of the grammar.
/// </summary>
public sealed class JsonSchemaPropertyTests(ITestOutputHelper output)
{
    private static readonly EvaluationOptions Validation = new() { OutputFormat = OutputFormat.List, RequireFormatValidation = true };

    [Fact]
    public void RandomSchemas_RandomWalkToAStop_OutputValidates()
    {
        var generator = new SchemaGenerator(seed: 13, bounded: true);
        var refused = 0;
        for (var i = 0; i < 200; i++)
        {
            refused += WalkAndValidate(generator.Next(), seed: i, randomSteps: 250, closingBound: 150) ? 0 : 1;
        }
        output.WriteLine($"{refused} of 200 generated schemas refused at compile time");
        Assert.True(refused < 20, $"{refused} generated schemas refused: the generator should stay within the supported keywords");
    }

    [Fact]
    public void RandomSchemasWithoutLengthBounds_PrefixOfARandomWalkClosed_OutputValidates()
    {
        // Unbounded strings and arrays: the random walk is cut after 120 tokens, then the closing policy must still finish validly.
        var generator = new SchemaGenerator(seed: 7, bounded: false);
        for (var i = 0; i < 40; i++)
        {
            WalkAndValidate(generator.Next(), seed: 1000 + i, randomSteps: 120, closingBound: 300);
        }
    }

    [Fact]
    public void SharedCompiledSchema_ConcurrentWalksOnFourThreads_SameTokensAsAloneOnAFreshCompile()
    {
        // The server shares one CompiledJsonSchema (and so one lazily built walk) between requests on different threads.
        const string schema = """
            {"type": "object", "properties": {"name": {"type": "string", "maxLength": 8}, "n": {"type": "integer", "minimum": -5, "maximum": 500},
             "kids": {"type": "array", "items": {"$ref": "#"}, "maxItems": 2}, "mood": {"enum": ["ok", "okay", "fine"]}}, "required": ["name"]}
            """;
        List<int> Walk(CompiledJsonSchema compiled, int seed)
        {
            var grammar = TokenGrammar.JsonSchema(GrammarDriver.Tokens, compiled, GrammarDriver.StopIds);
            var rng = new Random(seed);
            var ids = new List<int>();
            for (var step = 0; step < 400; step++)
            {
                var id = step < 120 ? RandomAllowed(grammar, rng) : GrammarDriver.Closing(grammar);
                grammar.Accept(id);
                ids.Add(id);
                if (GrammarDriver.StopIds.Contains(id))
                {
                    break;
                }
            }
            return ids;
        }
        var alone = Enumerable.Range(0, 8).Select(seed => Walk(SchemaGrammars.Compile(schema), seed)).ToArray();
        var shared = SchemaGrammars.Compile(schema);
        var together = new List<int>[8];
        Parallel.For(0, 8, new ParallelOptions { MaxDegreeOfParallelism = 4 }, seed => together[seed] = Walk(shared, seed));
        for (var seed = 0; seed < 8; seed++)
        {
            Assert.Equal(alone[seed], together[seed]);
            Assert.Contains(alone[seed][^1], GrammarDriver.StopIds);
        }
    }

    /// <summary>Walks the schema's grammar and validates the text; false when the schema is refused at compile time.</summary>
    private bool WalkAndValidate(JsonObject schemaNode, int seed, int randomSteps, int closingBound)
    {
        var schemaText = schemaNode.ToJsonString();
        CompiledJsonSchema compiled;
        try
        {
            compiled = SchemaGrammars.Compile(schemaText);
        }
        catch (Qwen.Tokenization.Constraints.JsonSchemaException e)
        {
            output.WriteLine($"refused {e.Path}: {e.Message}: {schemaText}");
            return false;
        }
        var grammar = TokenGrammar.JsonSchema(GrammarDriver.Tokens, compiled, GrammarDriver.StopIds);
        var rng = new Random(seed);
        var ids = new List<int>();
        for (var step = 0; ; step++)
        {
            Assert.True(step < randomSteps + closingBound, $"no stop within {randomSteps + closingBound} tokens for {schemaText}: {GrammarDriver.Tokenizer.Decode([.. ids])}");
            var id = step < randomSteps ? RandomAllowed(grammar, rng) : GrammarDriver.Closing(grammar);
            Assert.True(id >= 0, $"dead end after {GrammarDriver.Tokenizer.Decode([.. ids])} for {schemaText}");
            grammar.Accept(id);
            if (GrammarDriver.StopIds.Contains(id))
            {
                break;
            }
            ids.Add(id);
        }
        var bytes = ids.SelectMany(id => GrammarDriver.Tokens[id].ToArray()).ToArray();
        var text = System.Text.Encoding.UTF8.GetString(bytes);
        Assert.True(JsonReference.Parses(bytes), $"does not parse: {text} for {schemaText}");
        // oneOf is enforced as anyOf (documented: exclusivity is not checked), so the oracle reads it so too.
        var results = JsonSchema.FromText(schemaText.Replace("\"oneOf\"", "\"anyOf\"", StringComparison.Ordinal)).Evaluate(JsonNode.Parse(bytes), Validation);
        Assert.True(results.IsValid, $"{text} does not validate against {schemaText}: {string.Join("; ", (results.Details ?? []).Where(d => d.Errors is not null).SelectMany(d => d.Errors!.Select(e => $"{d.InstanceLocation} {e.Key}: {e.Value}")))}");
        return true;
    }

    /// <summary>A random model: 32 random ids, the first allowed one (a third of the time a stop if allowed); else a random allowed id from a full scan.</summary>
    private static int RandomAllowed(TokenGrammar grammar, Random rng)
    {
        if (rng.Next(3) == 0 && grammar.IsAllowed(GrammarDriver.ImEnd))
        {
            return GrammarDriver.ImEnd;
        }
        for (var i = 0; i < 32; i++)
        {
            var id = rng.Next(GrammarDriver.VocabularySize);
            if (grammar.IsAllowed(id) && !GrammarDriver.StopIds.Contains(id))
            {
                return id;
            }
        }
        var allowed = GrammarDriver.AllowedIds(grammar);
        return allowed.Count == 0 ? -1 : allowed[rng.Next(allowed.Count)];
    }
}
