using System.Diagnostics;
using System.Numerics;
using System.Text.Json;
using Qwen.OnnxExport.Checkpoint;
using Qwen.Tokenization.Constraints;
using Qwen.Tokenization.Tokenizer;

namespace Qwen.Bench;

/// <summary>
/// Cost of the JSON Schema constraint per token over the real Qwen2.5 vocabulary: `grammar [--walks 20] [--steps 300] [--model-dir DIR]`.
/// For each grammar, seeded walks pick a random allowed token (a stop a quarter of the time it is allowed; after
/// --steps tokens a closing policy) and three grammars walk in lockstep, as the engine uses one: on the first, only
/// IsAllowed + Accept of the chosen token (the fast path: the sampled token is allowed); on the second, IsAllowed on
/// every vocabulary id then Accept (the full scan as the engine did it when the sampled token was refused); on the third,
/// FillAllowed into a bitmask then Accept (the full scan as the engine does it now; its set is checked against the
/// second's). The three use separately compiled schemas, so the fast path's shared walk is cold on the first walk (a
/// schema's first request) and warm after (a cached schema's later requests): both are printed. Also both scans' mean,
/// median and worst µs and the schema's compile time (median of 50).
/// </summary>
internal static class GrammarBench
{
    private const int Vocabulary = 151_936; // Qwen2.5's padded logits row

    private const string Nested = """
        {"type": "object", "properties": {
          "id": {"type": "integer", "minimum": 1, "maximum": 100000},
          "name": {"type": "string", "maxLength": 40},
          "status": {"enum": ["active", "inactive", "pending"]},
          "score": {"type": "number", "minimum": 0, "maximum": 10},
          "address": {"type": "object", "properties": {"street": {"type": "string", "maxLength": 60}, "city": {"type": "string", "maxLength": 30}, "zip": {"type": "string", "pattern": "^[0-9]{5}$"}}, "required": ["city"]},
          "tags": {"type": "array", "items": {"type": "string", "maxLength": 12}, "maxItems": 5},
          "contact": {"anyOf": [
            {"type": "object", "properties": {"email": {"type": "string", "maxLength": 40}}, "required": ["email"]},
            {"type": "object", "properties": {"phone": {"type": "string", "maxLength": 20}}, "required": ["phone"]},
            {"type": "null"}]},
          "created": {"type": "string", "format": "date"}},
         "required": ["id", "name", "status", "contact"]}
        """;

    private const string Recursive = """
        {"$defs": {"Node": {"type": "object", "properties": {"label": {"type": "string", "maxLength": 16}, "weight": {"type": "number"},
           "children": {"type": "array", "items": {"$ref": "#/$defs/Node"}, "maxItems": 3}}, "required": ["label"]}},
         "$ref": "#/$defs/Node"}
        """;

    private const string Weather = """{"type": "object", "properties": {"city": {"type": "string", "maxLength": 30}, "unit": {"enum": ["celsius", "fahrenheit"]}, "days": {"type": "integer", "minimum": 1, "maximum": 14}}, "required": ["city"], "additionalProperties": false}""";

    private const string Search = """{"type": "object", "properties": {"query": {"type": "string", "maxLength": 60}, "limit": {"type": "integer", "minimum": 1, "maximum": 50}, "filters": {"type": "array", "items": {"type": "string", "maxLength": 10}, "maxItems": 3}}, "required": ["query"]}""";

    public static Task<int> RunAsync(string[] args)
    {
        var a = new BenchArgs(args);
        var walks = a.Int("walks", 20);
        var steps = a.Int("steps", 300);
        var tokenizer = QwenTokenizer.FromDirectory(a.Get("model-dir", RandomCheckpoint.AssetsDirectory));
        var tokens = TokenBytes.FromTokenizer(tokenizer);
        int[] stops = [tokenizer.GetTokenId("<|im_end|>")!.Value, tokenizer.GetTokenId("<|endoftext|>")!.Value];
        var byteTokens = new int[256];
        for (var id = tokens.Count - 1; id >= 0; id--)
        {
            if (tokens[id].Length == 1 && !tokens.IsSpecial(id))
            {
                byteTokens[tokens[id][0]] = id;
            }
        }
        Console.WriteLine($"grammar over {Vocabulary} ids, {walks} walks of up to {steps} random tokens each, then closing");

        var nestedUs = CompileTime(Nested);
        var recursiveUs = CompileTime(Recursive);
        var toolsUs = CompileTime(Weather) + CompileTime(Search);
        var cases = new (string Name, double CompileUs, Func<TokenGrammar> Create)[]
        {
            ("json_schema nested (objects, arrays, anyOf, enum, numbers, maxLength, pattern, format)", nestedUs, Separately([Nested], s => TokenGrammar.JsonSchema(tokens, s[0], stops))),
            ("json_schema recursive ($ref tree)", recursiveUs, Separately([Recursive], s => TokenGrammar.JsonSchema(tokens, s[0], stops))),
            ("required tool call, two functions, parallel", toolsUs, Separately([Weather, Search], s => TokenGrammar.RequiredToolCall(tokens, Tools(s), parallel: true, stops))),
            ("auto tool calls (free text, then a call)", toolsUs, Separately([Weather, Search], s => TokenGrammar.AutoToolCalls(tokens, Tools(s), parallel: false, stops))),
            ("json_object (AnyObject)", 0, () => TokenGrammar.JsonSchema(tokens, CompiledJsonSchema.AnyObject, stops)),
        };
        foreach (var (name, compileUs, create) in cases)
        {
            var r = Walk(create, walks, steps, stops, byteTokens);
            Console.WriteLine($"{name}: compile {compileUs:F0} µs; {r.Count} tokens; fast path mean {r.Cold:F2} µs/token cold, {r.Warm:F2} warm, median {r.FastMedian:F2} (worst {r.FastWorst:F0}); "
                + $"full scan by IsAllowed mean {r.Scan.Mean:F0} µs/token, median {r.Scan.Median:F0} (worst {r.Scan.Worst:F0}); "
                + $"by FillAllowed mean {r.Fill.Mean:F0}, median {r.Fill.Median:F0} (worst {r.Fill.Worst:F0}): {r.Scan.Mean / r.Fill.Mean:F1}x mean, {r.Scan.Median / r.Fill.Median:F1}x median");
        }
        return Task.FromResult(0);
    }

    private static CompiledJsonSchema[] Compile(string[] texts)
        => [.. texts.Select(text =>
        {
            using var doc = JsonDocument.Parse(text);
            return CompiledJsonSchema.Compile(doc.RootElement);
        })];

    private static ToolGrammar[] Tools(CompiledJsonSchema[] schemas) => [new("get_weather", schemas[0]), new("search", schemas[1])];

    /// <summary>Grammars in threes from separate compilations: the fast-path grammar (every third call) never shares a scanned one's walk.</summary>
    private static Func<TokenGrammar> Separately(string[] schemas, Func<CompiledJsonSchema[], TokenGrammar> create)
    {
        var compiled = new[] { Compile(schemas), Compile(schemas), Compile(schemas) };
        var calls = 0;
        return () => create(compiled[calls++ % 3]);
    }

    private static double CompileTime(string text)
    {
        using var doc = JsonDocument.Parse(text);
        var times = new List<double>();
        for (var i = 0; i < 50; i++)
        {
            var sw = Stopwatch.StartNew();
            CompiledJsonSchema.Compile(doc.RootElement);
            times.Add(sw.Elapsed.TotalMicroseconds);
        }
        times.Sort();
        return times[times.Count / 2];
    }

    private static WalkFigures Walk(Func<TokenGrammar> create, int walks, int steps, int[] stops, int[] byteTokens)
    {
        var fast = new List<double>();
        var firstWalk = 0;
        var scan = new List<double>();
        var fill = new List<double>();
        var allowed = new List<int>();
        var mask = new ulong[(Vocabulary + 63) / 64];
        for (var walk = 0; walk < walks; walk++)
        {
            var rng = new Random(walk);
            var sampled = create(); // the fast path: only the chosen token is checked
            var scanned = create(); // the full scan by IsAllowed
            var filled = create(); // the full scan by FillAllowed
            if (walk == 1)
            {
                firstWalk = fast.Count;
            }
            for (var step = 0; step < steps + 400; step++)
            {
                allowed.Clear();
                var sw = Stopwatch.StartNew();
                for (var id = 0; id < Vocabulary; id++)
                {
                    if (scanned.IsAllowed(id))
                    {
                        allowed.Add(id);
                    }
                }
                var scanUs = sw.Elapsed.TotalMicroseconds;
                if (allowed.Count == 0)
                {
                    throw new InvalidOperationException("dead end: no token allowed");
                }
                sw.Restart();
                filled.FillAllowed(mask);
                var fillUs = sw.Elapsed.TotalMicroseconds;
                if (!SameSet(mask, allowed))
                {
                    throw new InvalidOperationException("FillAllowed and the IsAllowed loop disagree");
                }
                var chosen = Choose(scanned, allowed, rng, step >= steps, stops, byteTokens);
                sw.Restart();
                scanned.Accept(chosen);
                var acceptUs = sw.Elapsed.TotalMicroseconds;
                scan.Add(scanUs + acceptUs);
                sw.Restart();
                filled.Accept(chosen);
                fill.Add(fillUs + sw.Elapsed.TotalMicroseconds);
                sw.Restart();
                var ok = sampled.IsAllowed(chosen);
                sampled.Accept(chosen);
                fast.Add(sw.Elapsed.TotalMicroseconds);
                if (!ok)
                {
                    throw new InvalidOperationException("the two grammars disagree");
                }
                if (stops.Contains(chosen))
                {
                    break;
                }
            }
        }
        return new WalkFigures(fast.Count, fast.Take(firstWalk).DefaultIfEmpty(0).Average(), fast.Skip(firstWalk).DefaultIfEmpty(0).Average(),
            fast.Order().ElementAt(fast.Count / 2), fast.Max(), ScanFigures.Of(scan), ScanFigures.Of(fill));
    }

    /// <summary>Whether the mask's set bits are exactly <paramref name="allowed"/> (ascending ids).</summary>
    private static bool SameSet(ulong[] mask, List<int> allowed)
    {
        var n = 0;
        for (var w = 0; w < mask.Length; w++)
        {
            for (var word = mask[w]; word != 0; word &= word - 1)
            {
                if (n == allowed.Count || allowed[n++] != (w << 6) + BitOperations.TrailingZeroCount(word))
                {
                    return false;
                }
            }
        }
        return n == allowed.Count;
    }

    /// <summary>A random allowed id (a stop a quarter of the time it is allowed); when closing: a stop, else '"', '}', ']', '0', else the first allowed.</summary>
    private static int Choose(TokenGrammar grammar, List<int> allowed, Random rng, bool closing, int[] stops, int[] byteTokens)
    {
        var stop = stops.FirstOrDefault(grammar.IsAllowed, -1);
        if (stop >= 0 && (closing || rng.Next(4) == 0))
        {
            return stop;
        }
        if (closing)
        {
            foreach (var b in "\"}]0"u8)
            {
                if (grammar.IsAllowed(byteTokens[b]))
                {
                    return byteTokens[b];
                }
            }
            return allowed[0];
        }
        var pick = allowed[rng.Next(allowed.Count)];
        return stops.Contains(pick) && allowed.Count > stops.Length ? allowed.First(id => !stops.Contains(id)) : pick;
    }
}
