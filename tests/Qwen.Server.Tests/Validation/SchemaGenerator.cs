using System.Text.Json.Nodes;

namespace Qwen.Server.Tests.Validation;

/// <summary>
/// Seeded random JSON schemas over the keywords the server enforces, each with a finite language (bounded strings,
/// arrays and integers; enums), so a constrained answer always ends before max_tokens.
/// </summary>
internal static class SchemaGenerator
{
    public static JsonObject Object(Random random, int depth)
    {
        var properties = new JsonObject();
        var required = new JsonArray();
        var count = random.Next(1, 4);
        for (var i = 0; i < count; i++)
        {
            var name = $"p{i}_{(char)('a' + random.Next(26))}";
            properties[name] = Value(random, depth + 1);
            if (random.Next(3) > 0)
            {
                required.Add(name);
            }
        }
        return new JsonObject { ["type"] = "object", ["properties"] = properties, ["required"] = required, ["additionalProperties"] = false };
    }

    private static JsonNode Value(Random random, int depth) => random.Next(depth >= 2 ? 6 : 8) switch
    {
        0 => new JsonObject { ["type"] = "integer", ["minimum"] = -random.Next(100), ["maximum"] = random.Next(1000) },
        1 => new JsonObject { ["type"] = "boolean" },
        2 => new JsonObject { ["enum"] = new JsonArray("red", "green", 7, null) },
        3 => new JsonObject { ["type"] = "string", ["maxLength"] = random.Next(1, 8) },
        4 => new JsonObject { ["type"] = new JsonArray("integer", "null"), ["minimum"] = 0, ["maximum"] = 99 },
        5 => new JsonObject { ["anyOf"] = new JsonArray(new JsonObject { ["type"] = "string", ["maxLength"] = 3 }, new JsonObject { ["type"] = "number", ["minimum"] = 0, ["maximum"] = 1 }) },
        6 => new JsonObject { ["type"] = "array", ["items"] = Value(random, depth + 1), ["maxItems"] = random.Next(1, 4) },
        _ => Object(random, depth),
    };
}
