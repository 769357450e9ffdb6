using System.Text.Json.Nodes;

namespace Qwen.Tokenization.Tests.Constraints;

/// <summary>
/// Seeded random JSON Schemas over the supported keywords, for the property tests: objects (escaped keys, required
/// subsets, additionalProperties), arrays, strings with lengths, patterns and formats, bounded numbers, enums, const,
/// anyOf / oneOf / allOf, type lists and recursive $defs. With <c>bounded</c>, every string has a maxLength and every
/// array a maxItems, so a random walk stays short.
/// </summary>
internal sealed class SchemaGenerator(int seed, bool bounded)
{
    private static readonly string[] Keys = ["id", "name", "a b", "é名", "q\"x", "n\\m", "tag", "x", "xy", "value", "</tool_call>"];
    private static readonly string[] Patterns = ["^[a-z]{1,6}$", "^\\d{3}-\\d{2}$", "ab", "^(yes|no)$", "^[A-F0-9]+$"];
    // Not "email", "time", "date-time": PatternAutomaton is laxer there than JsonSchema.Net's checks (an email such as
    // "'a!\/@d.Q", a time offset of +20:26); that is a question for the formats, not for the walk.
    private static readonly string[] Formats = ["date", "uuid", "ipv4"];

    private readonly Random _rng = new(seed);

    /// <summary>A schema whose root may be anything; one in five is a recursive tree through $defs.</summary>
    public JsonObject Next()
    {
        if (_rng.Next(5) == 0)
        {
            var node = new JsonObject
            {
                ["type"] = "object",
                ["properties"] = new JsonObject
                {
                    ["v"] = Scalar(),
                    ["kids"] = new JsonObject { ["type"] = "array", ["items"] = new JsonObject { ["$ref"] = "#/$defs/Node" }, ["maxItems"] = bounded ? 2 : null },
                },
                ["required"] = new JsonArray("v"),
            };
            if (!bounded)
            {
                ((JsonObject)node["properties"]!["kids"]!).Remove("maxItems");
            }
            return new JsonObject { ["$defs"] = new JsonObject { ["Node"] = node }, ["$ref"] = "#/$defs/Node" };
        }
        return Schema(0);
    }

    private JsonObject Schema(int depth)
    {
        var kind = _rng.Next(depth >= 3 ? 4 : 10);
        return kind switch
        {
            < 4 => Scalar(),
            4 or 5 => Object(depth),
            6 => Array(depth),
            7 => new JsonObject { ["anyOf"] = new JsonArray(Schema(depth + 1), Schema(depth + 1)) },
            8 => new JsonObject { [_rng.Next(2) == 0 ? "oneOf" : "anyOf"] = new JsonArray(Object(depth + 1), Object(depth + 1)) },
            _ => new JsonObject { ["allOf"] = new JsonArray(Schema(depth + 1)), ["description"] = "d" },
        };
    }

    private JsonObject Object(int depth)
    {
        var properties = new JsonObject();
        var required = new JsonArray();
        foreach (var key in Keys.OrderBy(_ => _rng.Next()).Take(_rng.Next(0, 4)))
        {
            properties[key] = Schema(depth + 1);
            if (_rng.Next(2) == 0)
            {
                required.Add(key);
            }
        }
        var schema = new JsonObject { ["type"] = "object", ["properties"] = properties, ["required"] = required };
        switch (_rng.Next(4))
        {
            case 0:
                schema["additionalProperties"] = false;
                break;
            case 1:
                schema["additionalProperties"] = new JsonObject { ["type"] = "integer", ["minimum"] = 0, ["maximum"] = 99 };
                break;
        }
        return schema;
    }

    private JsonObject Array(int depth)
    {
        var min = _rng.Next(3);
        var schema = new JsonObject { ["type"] = "array", ["items"] = Schema(depth + 1), ["minItems"] = min };
        if (bounded || _rng.Next(2) == 0)
        {
            schema["maxItems"] = min + _rng.Next(4);
        }
        return schema;
    }

    private JsonObject Scalar()
    {
        switch (_rng.Next(9))
        {
            case 0:
            case 1:
                var s = new JsonObject { ["type"] = "string" };
                var min = _rng.Next(4);
                s["minLength"] = min;
                if (bounded || _rng.Next(2) == 0)
                {
                    s["maxLength"] = min + _rng.Next(12);
                }
                if (_rng.Next(3) == 0)
                {
                    s.Remove("minLength");
                    s.Remove("maxLength");
                    if (_rng.Next(2) == 0)
                    {
                        s["pattern"] = Patterns[_rng.Next(Patterns.Length)];
                        s["maxLength"] = 12;
                    }
                    else
                    {
                        s["format"] = Formats[_rng.Next(Formats.Length)];
                        s["maxLength"] = 64;
                    }
                }
                return s;
            case 2:
                var integer = _rng.Next(2) == 0;
                var n = new JsonObject { ["type"] = integer ? "integer" : "number" };
                var low = _rng.Next(-50, 50) + (integer ? 0 : Math.Round(_rng.NextDouble(), 2));
                var high = low + _rng.Next(0, 100) + (integer ? 0 : Math.Round(_rng.NextDouble(), 2));
                if (_rng.Next(3) > 0)
                {
                    n[_rng.Next(2) == 0 ? "minimum" : "exclusiveMinimum"] = low;
                }
                if (_rng.Next(3) > 0)
                {
                    n[_rng.Next(2) == 0 ? "maximum" : "exclusiveMaximum"] = high + 1;
                }
                return n;
            case 3:
                return new JsonObject { ["type"] = "boolean" };
            case 4:
                return new JsonObject { ["type"] = "null" };
            case 5:
                return new JsonObject { ["enum"] = new JsonArray("red", "re", "é", 1.5, 10, null, true, new JsonObject { ["k"] = new JsonArray(1, "v") }) };
            case 6:
                return new JsonObject { ["const"] = "fixed \"value\"" };
            case 7:
                return new JsonObject { ["type"] = new JsonArray("string", "null"), ["maxLength"] = 5 };
            default:
                return new JsonObject { ["type"] = new JsonArray("integer", "boolean"), ["maximum"] = 7 };
        }
    }
}
