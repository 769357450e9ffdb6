using System.Text.Json;
using Qwen.Server.Errors;

namespace Qwen.Server.Validation;

/// <summary>Typed, range-checked reads of request fields; every failure is a 400 naming the field, its limit and the value given.</summary>
internal static class JsonFields
{
    public static bool Has(JsonElement body, string name) => body.TryGetProperty(name, out var v) && v.ValueKind != JsonValueKind.Null;

    public static string? String(JsonElement body, string name)
    {
        if (!body.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null)
        {
            return null;
        }
        return v.ValueKind == JsonValueKind.String ? v.GetString() : throw Type(name, "a string", v);
    }

    public static bool? Bool(JsonElement body, string name)
    {
        if (!body.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null)
        {
            return null;
        }
        return v.ValueKind switch { JsonValueKind.True => true, JsonValueKind.False => false, _ => throw Type(name, "a boolean", v) };
    }

    public static int? Int(JsonElement body, string name, long min, long max)
    {
        if (!body.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null)
        {
            return null;
        }
        if (v.ValueKind != JsonValueKind.Number || !v.TryGetDouble(out var d) || d != Math.Floor(d))
        {
            throw Type(name, "an integer", v);
        }
        if (d < min || d > max)
        {
            throw ApiException.BadRequest($"'{name}' must be in [{min}, {max}] (given {v.GetRawText()})", name);
        }
        return (int)d;
    }

    public static float? Number(JsonElement body, string name, double min, double max)
    {
        if (!body.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null)
        {
            return null;
        }
        if (v.ValueKind != JsonValueKind.Number || !v.TryGetDouble(out var d) || !double.IsFinite(d))
        {
            throw Type(name, "a number", v);
        }
        if (d < min || d > max)
        {
            throw ApiException.BadRequest($"'{name}' must be in [{min}, {max}] (given {v.GetRawText()})", name);
        }
        return (float)d;
    }

    public static ApiException Type(string name, string expected, JsonElement given)
        => ApiException.BadRequest($"'{name}' must be {expected} (given {given.ValueKind.ToString().ToLowerInvariant()})", name);
}
