using System.Diagnostics;
using System.Text.Json;
using Qwen.OnnxExport.Checkpoint;
using Qwen.Tokenization.Constraints;
using Qwen.Tokenization.Tokenizer;

namespace Qwen.Bench;

/// <summary>
/// Cost of the JSON Schema constraint per token over the real Qwen2.5 vocabulary: `grammar [--walks 20] [--steps 300] [--model-dir DIR]`.
/// For each grammar, seeded walks pick a random allowed token (a stop a quarter of the time it is allowed; after
/// --steps tokens a closing policy) and two grammars walk in lockstep, as the engine uses one: on the first, only
/// IsAllowed + Accept of the chosen token (the fast path: the sampled token is allowed); on the second, IsAllowed on
/// every vocabulary id then Accept (the full scan the engine does when the sampled token is refused). The two use
/// separately compiled schemas, so the fast path's shared walk is cold on the first walk (a schema's first request)
/// and warm after (a cached schema's later requests): both are printed. Also the full scan's mean and worst µs and
/// the schema's compile time (median of 50).
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
            ("json_schema nested (objects, arrays, anyOf, enum, numbers, maxLength, pattern, format)", nestedUs, Pair([Nested], s => TokenGrammar.JsonSchema(tokens, s[0], stops))),
            ("json_schema recursive ($ref tree)", recursiveUs, Pair([Recursive], s => TokenGrammar.JsonSchema(tokens, s[0], stops))),
            ("required tool call, two functions, parallel", toolsUs, Pair([Weather, Search], s => TokenGrammar.RequiredToolCall(tokens, Tools(s), parallel: true, stops))),
            ("auto tool calls (free text, then a call)", toolsUs, Pair([Weather, Search], s => TokenGrammar.AutoToolCalls(tokens, Tools(s), parallel: false, stops))),
            ("json_object (the existing JsonAutomaton grammar, for comparison)", 0, () => TokenGrammar.JsonObject(tokens, stops)),
        };
        foreach (var (name, compileUs, create) in cases)
        {
            Walk(create, walks, steps, stops, byteTokens, out var cold, out var warm, out var fastMedian, out var fastWorst, out var scan, out var scanMedian, out var scanWorst, out var count);
            Console.WriteLine($"{name}: compile {compileUs:F0} µs; {count} tokens; fast path mean {cold:F2} µs/token cold, {warm:F2} warm, median {fastMedian:F2} (worst {fastWorst:F0}); full scan mean {scan:F0} µs/token, median {scanMedian:F0} (worst {scanWorst:F0})");
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

    /// <summary>Grammars in pairs from two separate compilations: the fast-path grammar (odd calls) never shares the scanned one's walk.</summary>
    private static Func<TokenGrammar> Pair(string[] schemas, Func<CompiledJsonSchema[], TokenGrammar> create)
    {
        var compiled = new[] { Compile(schemas), Compile(schemas) };
        var calls = 0;
        return () => create(compiled[calls++ % 2]);
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

    private static void Walk(Func<TokenGrammar> create, int walks, int steps, int[] stops, int[] byteTokens,
        out double coldMean, out double warmMean, out double fastMedian, out double fastWorst, out double scanMean, out double scanMedian, out double scanWorst, out int count)
    {
        var fast = new List<double>();
        var firstWalk = 0;
        var scan = new List<double>();
        var allowed = new List<int>();
        for (var walk = 0; walk < walks; walk++)
        {
            var rng = new Random(walk);
            var sampled = create(); // the fast path: only the chosen token is checked
            var scanned = create(); // the full scan
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
                var chosen = Choose(scanned, allowed, rng, step >= steps, stops, byteTokens);
                sw.Restart();
                scanned.Accept(chosen);
                scan.Add(scanUs + sw.Elapsed.TotalMicroseconds);
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
        count = fast.Count;
        coldMean = fast.Take(firstWalk).DefaultIfEmpty(0).Average();
        warmMean = fast.Skip(firstWalk).DefaultIfEmpty(0).Average();
        fastWorst = fast.Max();
        fastMedian = fast.Order().ElementAt(fast.Count / 2);
        scanMedian = scan.Order().ElementAt(scan.Count / 2);
        scanMean = scan.Average();
        scanWorst = scan.Max();
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
