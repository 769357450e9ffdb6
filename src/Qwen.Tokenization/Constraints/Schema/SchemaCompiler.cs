using System.Text.Encodings.Web;
using System.Text.Json;

namespace Qwen.Tokenization.Constraints.Schema;

/// <summary>
/// Turns a JSON Schema into the <see cref="SchemaNode"/> graph: checks every keyword (an unknown one is an error, never
/// ignored), resolves local <c>$ref</c>s to shared nodes (recursion is a cycle in the graph), then computes each node's
/// <see cref="SchemaNode.MinDepth"/> by a fixed point and refuses a schema whose root cannot close within the depth bound.
/// </summary>
internal sealed class SchemaCompiler
{
    /// <summary>Keywords that describe and constrain nothing: accepted and ignored.</summary>
    public static readonly string[] Annotations = ["title", "description", "$schema", "$id", "$comment", "default", "examples", "deprecated", "readOnly", "writeOnly"];

    private static readonly HashSet<string> Known =
    [
        .. Annotations, "type", "properties", "required", "additionalProperties", "enum", "const", "anyOf", "oneOf", "allOf",
        "items", "minItems", "maxItems", "$defs", "definitions", "$ref", "minLength", "maxLength", "pattern", "format",
        "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum",
    ];

    /// <summary>
    /// Most subschemas (schema objects, the root and every definition included) one schema may hold. OpenAI's structured
    /// outputs allow 5,000 object properties in all; this is twice that, and bounds the work and memory one schema asks for.
    /// </summary>
    public const int MaxSubschemas = 10_000;

    /// <summary>
    /// Longest chain of $ref and anyOf steps between two containers: starting a value follows such a chain by recursion
    /// (here and in <see cref="SchemaDfa"/>), so a chain of thousands of definitions must be refused, not overflow the stack.
    /// </summary>
    public const int MaxAlternativeChain = 256;

    private static readonly string[] TypeNames = ["object", "array", "string", "number", "integer", "boolean", "null"];

    private static readonly JsonWriterOptions Canonical = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, Indented = false };

    private readonly JsonElement _root;
    private readonly Dictionary<string, RefNode> _refs = [];
    private readonly Dictionary<string, (JsonElement Schema, string Path)> _definitions = [];
    private readonly List<SchemaNode> _nodes = [];
    private readonly Queue<string> _pending = new(); // references met whose definition is not compiled yet
    private int _subschemas;

    private SchemaCompiler(JsonElement root) => _root = root;

    /// <summary>Any JSON value; its objects take any keys.</summary>
    public static SchemaNode AnyJson { get; } = BuildAnyJson();

    /// <summary>Compiles <paramref name="schema"/>; throws <see cref="JsonSchemaException"/> naming the first problem.</summary>
    public static SchemaNode Compile(JsonElement schema)
    {
        var compiler = new SchemaCompiler(schema);
        var root = compiler.CompileRoot();
        return root;
    }

    /// <summary>The JSON bytes of <paramref name="value"/> as the grammar writes it: compact, non-ASCII kept, numbers as the schema wrote them.</summary>
    public static byte[] Serialize(JsonElement value)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, Canonical))
        {
            value.WriteTo(writer);
        }
        return buffer.ToArray();
    }

    private static byte[] EscapeKey(string key)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, Canonical))
        {
            writer.WriteStringValue(key);
        }
        return buffer.ToArray()[1..^1];
    }

    private SchemaNode CompileRoot()
    {
        if (_root.ValueKind == JsonValueKind.Object)
        {
            foreach (var section in new[] { "$defs", "definitions" })
            {
                if (_root.TryGetProperty(section, out var defs))
                {
                    if (defs.ValueKind != JsonValueKind.Object)
                    {
                        throw new JsonSchemaException("/" + section, $"'{section}' must be an object of schemas");
                    }
                    foreach (var def in defs.EnumerateObject())
                    {
                        var path = $"/{section}/{Pointer(def.Name)}";
                        _definitions["#" + path] = (def.Value, path);
                    }
                }
            }
        }
        var root = new RefNode();
        _refs["#"] = root;
        root.Target = CompileSchema(_root, "", isRoot: true);
        // Compiling a definition may reference further ones: go on until every reference has its target.
        while (_pending.TryDequeue(out var pending))
        {
            var (schema, path) = _definitions[pending];
            _refs[pending].Target = CompileSchema(schema, path, isRoot: false);
        }
        CheckEmptyCycles();
        ComputeMinDepths(_nodes.Concat(_refs.Values));
        if (root.MinDepth > SchemaDfa.MaxDepth)
        {
            throw new JsonSchemaException("", $"the schema has no instance that nests at most {SchemaDfa.MaxDepth} levels deep (a required property or minItems recurses without end)");
        }
        return root;
    }

    private SchemaNode CompileSchema(JsonElement schema, string path, bool isRoot)
    {
        if (++_subschemas > MaxSubschemas)
        {
            throw new JsonSchemaException(path, $"the schema has more than {MaxSubschemas} subschemas");
        }
        if (schema.ValueKind == JsonValueKind.True)
        {
            return AnyJson;
        }
        if (schema.ValueKind == JsonValueKind.False)
        {
            throw new JsonSchemaException(path, "the schema 'false' allows no value");
        }
        if (schema.ValueKind != JsonValueKind.Object)
        {
            throw new JsonSchemaException(path, $"a schema must be an object or a boolean (given {Kind(schema)})");
        }
        var keywords = new HashSet<string>();
        foreach (var p in schema.EnumerateObject())
        {
            if (!Known.Contains(p.Name))
            {
                throw new JsonSchemaException($"{path}/{Pointer(p.Name)}", $"'{p.Name}' is not supported");
            }
            if ((p.Name is "$defs" or "definitions") && !isRoot)
            {
                throw new JsonSchemaException($"{path}/{p.Name}", $"'{p.Name}' is supported only at the root of the schema");
            }
            if (!Annotations.Contains(p.Name) && p.Name is not ("$defs" or "definitions"))
            {
                keywords.Add(p.Name);
            }
        }
        foreach (var combinator in new[] { "$ref", "allOf", "anyOf", "oneOf", "enum", "const" })
        {
            if (keywords.Contains(combinator))
            {
                var other = keywords.FirstOrDefault(k => k != combinator && !(combinator is "enum" or "const" && k == "type"));
                if (other is not null)
                {
                    throw new JsonSchemaException($"{path}/{other}", $"'{other}' alongside '{combinator}' is not supported");
                }
            }
        }
        var node = keywords switch
        {
            _ when keywords.Contains("$ref") => Reference(schema.GetProperty("$ref"), $"{path}/$ref"),
            _ when keywords.Contains("allOf") => AllOf(schema.GetProperty("allOf"), $"{path}/allOf"),
            _ when keywords.Contains("anyOf") => Alternatives(schema.GetProperty("anyOf"), $"{path}/anyOf", "anyOf"),
            _ when keywords.Contains("oneOf") => Alternatives(schema.GetProperty("oneOf"), $"{path}/oneOf", "oneOf"),
            _ when keywords.Contains("enum") => Enum(schema, path, schema.GetProperty("enum"), $"{path}/enum"),
            _ when keywords.Contains("const") => Enum(schema, path, default, $"{path}/const"),
            _ when keywords.Count == 0 => AnyJson,
            _ => Typed(schema, path),
        };
        if (node != AnyJson)
        {
            _nodes.Add(node); // the shared AnyJson graph is complete and must not be touched (other threads read it)
        }
        return node;
    }

    private SchemaNode Reference(JsonElement value, string path)
    {
        if (value.ValueKind != JsonValueKind.String)
        {
            throw new JsonSchemaException(path, "'$ref' must be a string");
        }
        var reference = value.GetString()!;
        if (!_refs.TryGetValue(reference, out var node))
        {
            if (!_definitions.ContainsKey(reference))
            {
                throw new JsonSchemaException(path, reference.StartsWith('#')
                    ? $"'$ref' '{reference}' names no definition (local references are '#', '#/$defs/Name' and '#/definitions/Name')"
                    : $"'$ref' '{reference}' is not supported: only local references ('#', '#/$defs/Name', '#/definitions/Name')");
            }
            node = _refs[reference] = new RefNode();
            _pending.Enqueue(reference);
        }
        return node;
    }

    private SchemaNode AllOf(JsonElement value, string path)
    {
        if (value.ValueKind != JsonValueKind.Array || value.GetArrayLength() != 1)
        {
            throw new JsonSchemaException(path, "'allOf' is supported only with exactly one schema");
        }
        return CompileSchema(value[0], path + "/0", isRoot: false);
    }

    private AnyOfNode Alternatives(JsonElement value, string path, string keyword)
    {
        if (value.ValueKind != JsonValueKind.Array || value.GetArrayLength() == 0)
        {
            throw new JsonSchemaException(path, $"'{keyword}' must be a non-empty array of schemas");
        }
        return new AnyOfNode([.. value.EnumerateArray().Select((s, i) => CompileSchema(s, $"{path}/{i}", isRoot: false))]);
    }

    private LiteralNode Enum(JsonElement schema, string schemaPath, JsonElement values, string path)
    {
        var types = TypesOf(schema, schemaPath);
        JsonElement[] candidates;
        if (values.ValueKind == JsonValueKind.Undefined)
        {
            candidates = [schema.GetProperty("const")];
        }
        else if (values.ValueKind != JsonValueKind.Array || values.GetArrayLength() == 0)
        {
            throw new JsonSchemaException(path, "'enum' must be a non-empty array");
        }
        else
        {
            candidates = [.. values.EnumerateArray()];
        }
        var kept = candidates.Where(v => types is null || types.Contains(TypeOf(v)) || (TypeOf(v) == "integer" && types.Contains("number")))
            .Select(Serialize).DistinctBy(Convert.ToHexString).ToArray();
        if (kept.Length == 0)
        {
            throw new JsonSchemaException(path, $"'{path[(path.LastIndexOf('/') + 1)..]}' has no value of the schema's 'type'");
        }
        return new LiteralNode(kept);
    }

    private static string TypeOf(JsonElement v) => v.ValueKind switch
    {
        JsonValueKind.Object => "object",
        JsonValueKind.Array => "array",
        JsonValueKind.String => "string",
        JsonValueKind.Number => v.TryGetInt64(out _) || (v.TryGetDecimal(out var d) && d == decimal.Truncate(d)) ? "integer" : "number",
        JsonValueKind.True or JsonValueKind.False => "boolean",
        _ => "null",
    };

    private static HashSet<string>? TypesOf(JsonElement schema, string path)
    {
        if (!schema.TryGetProperty("type", out var type))
        {
            return null;
        }
        var names = type.ValueKind switch
        {
            JsonValueKind.String => [type.GetString()!],
            JsonValueKind.Array when type.GetArrayLength() > 0 && type.EnumerateArray().All(t => t.ValueKind == JsonValueKind.String)
                => type.EnumerateArray().Select(t => t.GetString()!).ToArray(),
            _ => throw new JsonSchemaException(path + "/type", "'type' must be a type name or a non-empty array of type names"),
        };
        foreach (var name in names)
        {
            if (!TypeNames.Contains(name))
            {
                throw new JsonSchemaException(path + "/type", $"'type' '{name}' is not a JSON Schema type (object, array, string, number, integer, boolean, null)");
            }
        }
        return [.. names];
    }

    private SchemaNode Typed(JsonElement schema, string path)
    {
        var types = TypesOf(schema, path) ?? [.. TypeNames.Where(t => t != "integer")];
        if (types.Contains("number"))
        {
            types.Remove("integer");
        }
        var alternatives = new List<SchemaNode>();
        foreach (var type in TypeNames.Where(types.Contains))
        {
            SchemaNode node = type switch
            {
                "object" => Object(schema, path),
                "array" => Array(schema, path),
                "string" => String(schema, path),
                "number" or "integer" => Number(schema, path, type == "integer"),
                "boolean" => new LiteralNode(["true"u8.ToArray(), "false"u8.ToArray()]),
                _ => new LiteralNode(["null"u8.ToArray()]),
            };
            _nodes.Add(node);
            alternatives.Add(node);
        }
        return alternatives.Count == 1 ? alternatives[0] : new AnyOfNode([.. alternatives]);
    }

    private ObjectNode Object(JsonElement schema, string path)
    {
        var required = new HashSet<string>(StringComparer.Ordinal);
        if (schema.TryGetProperty("required", out var req))
        {
            if (req.ValueKind != JsonValueKind.Array || req.EnumerateArray().Any(r => r.ValueKind != JsonValueKind.String))
            {
                throw new JsonSchemaException(path + "/required", "'required' must be an array of property names");
            }
            required.UnionWith(req.EnumerateArray().Select(r => r.GetString()!));
        }
        var properties = new List<ObjectProperty>();
        var declared = new HashSet<string>(StringComparer.Ordinal); // TryGetProperty scans the object: once per name would be quadratic
        if (schema.TryGetProperty("properties", out var props))
        {
            if (props.ValueKind != JsonValueKind.Object)
            {
                throw new JsonSchemaException(path + "/properties", "'properties' must be an object of schemas");
            }
            foreach (var p in props.EnumerateObject())
            {
                var value = CompileSchema(p.Value, $"{path}/properties/{Pointer(p.Name)}", isRoot: false);
                properties.Add(new ObjectProperty(EscapeKey(p.Name), value, required.Contains(p.Name)));
                declared.Add(p.Name);
            }
        }
        foreach (var name in required)
        {
            if (!declared.Contains(name))
            {
                throw new JsonSchemaException(path + "/required", $"'required' names '{name}', which 'properties' does not declare");
            }
        }
        SchemaNode? additional = null;
        if (schema.TryGetProperty("additionalProperties", out var extra) && extra.ValueKind != JsonValueKind.False)
        {
            additional = CompileSchema(extra, path + "/additionalProperties", isRoot: false);
        }
        return new ObjectNode([.. properties], additional);
    }

    private ArrayNode Array(JsonElement schema, string path)
    {
        var items = AnyJson;
        if (schema.TryGetProperty("items", out var itemSchema))
        {
            if (itemSchema.ValueKind == JsonValueKind.Array)
            {
                throw new JsonSchemaException(path + "/items", "'items' as an array (tuple validation) is not supported");
            }
            items = CompileSchema(itemSchema, path + "/items", isRoot: false);
        }
        var min = Count(schema, path, "minItems") ?? 0;
        var max = Count(schema, path, "maxItems") ?? int.MaxValue;
        if (min > max)
        {
            throw new JsonSchemaException(path + "/minItems", $"'minItems' {min} is greater than 'maxItems' {max}");
        }
        return new ArrayNode(items, min, max);
    }

    private static StringNode String(JsonElement schema, string path)
    {
        var min = Count(schema, path, "minLength") ?? 0;
        var max = Count(schema, path, "maxLength") ?? int.MaxValue;
        if (min > max)
        {
            throw new JsonSchemaException(path + "/minLength", $"'minLength' {min} is greater than 'maxLength' {max}");
        }
        StringPattern? pattern = null;
        var hasPattern = schema.TryGetProperty("pattern", out var patternValue);
        var hasFormat = schema.TryGetProperty("format", out var formatValue);
        if (hasPattern && hasFormat)
        {
            throw new JsonSchemaException(path + "/format", "'format' alongside 'pattern' is not supported");
        }
        if (hasPattern || hasFormat)
        {
            var keyword = hasPattern ? "pattern" : "format";
            var value = hasPattern ? patternValue : formatValue;
            if (value.ValueKind != JsonValueKind.String)
            {
                throw new JsonSchemaException($"{path}/{keyword}", $"'{keyword}' must be a string");
            }
            var text = value.GetString()!;
            PatternAutomaton? automaton;
            try
            {
                automaton = hasPattern ? PatternAutomaton.Compile(text) : PatternAutomaton.ForFormat(text);
            }
            catch (NotSupportedException e)
            {
                throw new JsonSchemaException($"{path}/{keyword}", $"'{keyword}' '{text}' is not supported: {e.Message}");
            }
            catch (ArgumentException e)
            {
                throw new JsonSchemaException($"{path}/{keyword}", $"'{keyword}' '{text}' is not a valid pattern: {e.Message}");
            }
            if (automaton is null)
            {
                throw new JsonSchemaException($"{path}/{keyword}", $"'format' '{text}' is not supported");
            }
            pattern = new StringPattern(automaton, text);
            if (!pattern.CanFinish(automaton.Start, min, max))
            {
                throw new JsonSchemaException($"{path}/{keyword}", $"'{keyword}' '{text}' matches no printable-ASCII string of {min} to {(max == int.MaxValue ? "any number of" : max)} characters");
            }
        }
        return new StringNode(min, max, pattern);
    }

    private static NumberNode Number(JsonElement schema, string path, bool integer)
    {
        var step = integer ? 1m : 1m / 1_000_000_000_000m;
        var limit = NumberRange.Limit(integer);
        var low = -limit;
        var high = limit;
        var bounded = false;
        string lowKeyword = "", highKeyword = "";
        foreach (var keyword in new[] { "minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum" })
        {
            if (!schema.TryGetProperty(keyword, out var value))
            {
                continue;
            }
            if (value.ValueKind != JsonValueKind.Number)
            {
                throw new JsonSchemaException($"{path}/{keyword}", $"'{keyword}' must be a number (the boolean form of draft 4 is not supported)");
            }
            bounded = true;
            var exclusive = keyword.StartsWith("exclusive", StringComparison.Ordinal);
            var isLow = keyword.EndsWith("inimum", StringComparison.Ordinal);
            var given = value.TryGetDecimal(out var d) ? Math.Clamp(d, -limit - 1, limit + 1) : value.GetDouble() < 0 ? -limit - 1 : limit + 1;
            // The nearest grid value inside the bound.
            var grid = Math.Round(given / step, MidpointRounding.ToZero) * step;
            if (isLow)
            {
                grid = grid < given || (exclusive && grid == given) ? grid + step : grid;
                if (grid > low)
                {
                    (low, lowKeyword) = (grid, keyword);
                }
            }
            else
            {
                grid = grid > given || (exclusive && grid == given) ? grid - step : grid;
                if (grid < high)
                {
                    (high, highKeyword) = (grid, keyword);
                }
            }
        }
        if (low > high)
        {
            var lowText = schema.TryGetProperty(lowKeyword, out var l) ? l.GetRawText() : "";
            var highText = schema.TryGetProperty(highKeyword, out var h) ? h.GetRawText() : "";
            var where = highKeyword.Length > 0 ? highKeyword : lowKeyword;
            throw new JsonSchemaException($"{path}/{where}", lowKeyword.Length > 0 && highKeyword.Length > 0
                ? $"'{lowKeyword}' {lowText} and '{highKeyword}' {highText} leave no {(integer ? "integer" : "number")}"
                : $"'{where}' {(lowText + highText)} leaves no {(integer ? "integer" : "number")} of at most {NumberRange.MaxIntegerDigits} integer digits");
        }
        return new NumberNode(new NumberRange(integer, low, high, bounded));
    }

    private static int? Count(JsonElement schema, string path, string keyword)
    {
        if (!schema.TryGetProperty(keyword, out var value))
        {
            return null;
        }
        if (value.ValueKind != JsonValueKind.Number || !value.TryGetDecimal(out var d) || d < 0 || d != decimal.Truncate(d))
        {
            throw new JsonSchemaException($"{path}/{keyword}", $"'{keyword}' must be a non-negative integer (given {value.GetRawText()})");
        }
        return d > int.MaxValue - 1 ? int.MaxValue - 1 : (int)d;
    }

    /// <summary>
    /// Refuses a $ref or anyOf that reaches itself without reading a byte (starting a value would loop forever), and a
    /// chain of such steps longer than <see cref="MaxAlternativeChain"/> (the depth-first walk stops there too).
    /// </summary>
    private void CheckEmptyCycles()
    {
        var height = new Dictionary<SchemaNode, int>(ReferenceEqualityComparer.Instance); // -1: on the path; else the longest chain below
        var names = new Dictionary<SchemaNode, string>(ReferenceEqualityComparer.Instance);
        foreach (var (reference, node) in _refs)
        {
            names[node] = reference;
        }
        foreach (var (reference, node) in _refs)
        {
            Visit(node, reference, 0);
        }

        int Visit(SchemaNode node, string reference, int depth)
        {
            if (height.TryGetValue(node, out var known))
            {
                if (known < 0)
                {
                    throw new JsonSchemaException(reference == "#" ? "" : reference[1..], $"'$ref' '{reference}' refers to itself without an object or array in between");
                }
                return known;
            }
            if (depth > MaxAlternativeChain)
            {
                throw new JsonSchemaException(reference == "#" ? "" : reference[1..], $"'$ref' and 'anyOf' chain more than {MaxAlternativeChain} deep without an object or array in between");
            }
            height[node] = -1;
            var below = node switch
            {
                RefNode r when r == AnyJson => 0, // the shared any-value graph always reads a byte before it recurses
                RefNode r => 1 + Visit(r.Target, names[r], depth + 1),
                AnyOfNode a => 1 + a.Alternatives.Max(x => Visit(x, reference, depth + 1)),
                _ => 0,
            };
            if (below > MaxAlternativeChain)
            {
                throw new JsonSchemaException(reference == "#" ? "" : reference[1..], $"'$ref' and 'anyOf' chain more than {MaxAlternativeChain} deep without an object or array in between");
            }
            height[node] = below;
            return below;
        }
    }

    /// <summary>
    /// Each node's smallest instance depth, in time linear in the graph (Knuth's generalization of Dijkstra to AND/OR
    /// graphs): depths become final in increasing order; anyOf and $ref take their first final alternative, an object or
    /// array one more than the deepest of its required parts once all are final. A node never made final (a required
    /// cycle) keeps int.MaxValue. Nodes outside <paramref name="nodes"/> (the shared AnyJson graph) are already final.
    /// </summary>
    private static void ComputeMinDepths(IEnumerable<SchemaNode> nodes)
    {
        var all = new HashSet<SchemaNode>(nodes, ReferenceEqualityComparer.Instance);
        var parents = new Dictionary<SchemaNode, List<SchemaNode>>(ReferenceEqualityComparer.Instance);
        var waiting = new Dictionary<SchemaNode, (int Parts, int Deepest)>(ReferenceEqualityComparer.Instance); // objects and arrays
        var queue = new PriorityQueue<SchemaNode, int>();
        foreach (var node in all)
        {
            node.MinDepth = int.MaxValue;
            SchemaNode[] parts = node switch
            {
                AnyOfNode a => a.Alternatives,
                RefNode r => [r.Target],
                ObjectNode o => [.. o.Properties.Where(p => p.Required).Select(p => p.Value)],
                ArrayNode a => a.Min > 0 ? [a.Items] : [],
                _ => [],
            };
            if (node is StringNode or NumberNode or LiteralNode)
            {
                queue.Enqueue(node, 0);
                continue;
            }
            if (node is ObjectNode or ArrayNode)
            {
                waiting[node] = (parts.Length, 0);
                if (parts.Length == 0)
                {
                    queue.Enqueue(node, 1);
                }
            }
            foreach (var part in parts)
            {
                if (all.Contains(part))
                {
                    (parents.TryGetValue(part, out var list) ? list : parents[part] = []).Add(node);
                }
                else
                {
                    Arrive(node, part.MinDepth);
                }
            }
        }
        while (queue.TryDequeue(out var node, out var depth))
        {
            if (node.MinDepth != int.MaxValue)
            {
                continue; // already final at a smaller or equal depth
            }
            node.MinDepth = depth;
            foreach (var parent in parents.GetValueOrDefault(node) ?? [])
            {
                Arrive(parent, depth);
            }
        }

        void Arrive(SchemaNode parent, int depth)
        {
            if (depth == int.MaxValue)
            {
                return;
            }
            if (!waiting.TryGetValue(parent, out var w))
            {
                queue.Enqueue(parent, depth); // anyOf or $ref: the first final alternative is the smallest
                return;
            }
            w = (w.Parts - 1, Math.Max(w.Deepest, depth));
            waiting[parent] = w;
            if (w.Parts == 0)
            {
                queue.Enqueue(parent, Nest(w.Deepest));
            }
        }
    }

    private static int Nest(int depth) => depth == int.MaxValue ? int.MaxValue : depth + 1;

    private static SchemaNode BuildAnyJson()
    {
        var any = new RefNode();
        var obj = new ObjectNode([], any);
        var arr = new ArrayNode(any, 0, int.MaxValue);
        var alternatives = new AnyOfNode([obj, arr, StringNode.Any, new NumberNode(new NumberRange(false, -NumberRange.Limit(false), NumberRange.Limit(false), false)), new LiteralNode(["true"u8.ToArray(), "false"u8.ToArray(), "null"u8.ToArray()])]);
        any.Target = alternatives;
        ComputeMinDepths([any, obj, arr, alternatives, StringNode.Any, .. alternatives.Alternatives]);
        return any;
    }

    private static string Kind(JsonElement e) => e.ValueKind.ToString().ToLowerInvariant();

    private static string Pointer(string name) => name.Replace("~", "~0", StringComparison.Ordinal).Replace("/", "~1", StringComparison.Ordinal);
}
