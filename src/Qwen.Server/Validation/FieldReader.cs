using System.Globalization;
using System.Text.Json;

namespace Qwen.Server.Validation;

/// <summary>
/// Typed, range-checked reads of one JSON object's fields. A problem is recorded in <see cref="RequestProblems"/> under the
/// field's full path (stream_options.include_usage, tools[0].function.name) with its limit and the value given, and the
/// read returns null, so validation goes on and reports every problem at once. A field set to JSON null counts as absent.
/// </summary>
internal readonly struct FieldReader(JsonElement element, string? path, RequestProblems problems)
{
    /// <summary>The object read.</summary>
    public JsonElement Element { get; } = element;

    /// <summary>Where problems go.</summary>
    public RequestProblems Problems { get; } = problems;

    /// <summary>The full path of field <paramref name="name"/>, as the error's param.</summary>
    public string Param(string name) => path is null ? name : $"{path}.{name}";

    /// <summary>Records a problem with field <paramref name="name"/>.</summary>
    public void Problem(string name, string message) => Problems.Add(Param(name), message);

    /// <summary>The field's value when present and not null.</summary>
    public bool TryGet(string name, out JsonElement value)
        => Element.TryGetProperty(name, out value) && value.ValueKind != JsonValueKind.Null;

    /// <summary>A string field.</summary>
    public string? String(string name)
    {
        if (!TryGet(name, out var v))
        {
            return null;
        }
        if (v.ValueKind != JsonValueKind.String)
        {
            WrongType(name, "a string", v);
            return null;
        }
        return v.GetString();
    }

    /// <summary>A boolean field.</summary>
    public bool? Bool(string name)
    {
        if (!TryGet(name, out var v))
        {
            return null;
        }
        if (v.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
        {
            WrongType(name, "a boolean", v);
            return null;
        }
        return v.GetBoolean();
    }

    /// <summary>An integer field in [<paramref name="min"/>, <paramref name="max"/>].</summary>
    public int? Int(string name, long min, long max)
    {
        if (!TryGet(name, out var v))
        {
            return null;
        }
        if (v.ValueKind != JsonValueKind.Number)
        {
            WrongType(name, "an integer", v);
            return null;
        }
        // A number too large for a double (1e400) is out of range, not of the wrong type.
        var finite = v.TryGetDouble(out var d) && double.IsFinite(d);
        if (finite && d != Math.Floor(d))
        {
            Problem(name, $"'{Param(name)}' must be an integer (given {v.GetRawText()})");
            return null;
        }
        if (!finite || d < min || d > max)
        {
            OutOfRange(name, min.ToString(CultureInfo.InvariantCulture), max.ToString(CultureInfo.InvariantCulture), v, false);
            return null;
        }
        return (int)d;
    }

    /// <summary>A number field in [<paramref name="min"/>, <paramref name="max"/>] (or (min, max] when <paramref name="minExclusive"/>).</summary>
    public float? Number(string name, double min, double max, bool minExclusive = false)
    {
        if (!TryGet(name, out var v))
        {
            return null;
        }
        if (v.ValueKind != JsonValueKind.Number)
        {
            WrongType(name, "a number", v);
            return null;
        }
        if (!v.TryGetDouble(out var d) || !double.IsFinite(d) || d < min || (minExclusive && d == min) || d > max)
        {
            OutOfRange(name, min.ToString(CultureInfo.InvariantCulture), max.ToString(CultureInfo.InvariantCulture), v, minExclusive);
            return null;
        }
        return (float)d;
    }

    /// <summary>An object field, as a reader whose problems carry this field's path.</summary>
    public FieldReader? Object(string name)
    {
        if (!TryGet(name, out var v))
        {
            return null;
        }
        if (v.ValueKind != JsonValueKind.Object)
        {
            WrongType(name, "an object", v);
            return null;
        }
        return new FieldReader(v, Param(name), Problems);
    }

    /// <summary>Records "must be <paramref name="expected"/> (given …)".</summary>
    public void WrongType(string name, string expected, JsonElement given)
        => Problem(name, $"'{Param(name)}' must be {expected} (given {Describe(given)})");

    /// <summary>How a value is named in a message: numbers and booleans as written, other kinds by kind (the client's text is not echoed).</summary>
    public static string Describe(JsonElement v) => v.ValueKind switch
    {
        JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False => v.GetRawText(),
        JsonValueKind.String => "a string",
        JsonValueKind.Array => "an array",
        JsonValueKind.Object => "an object",
        _ => "null",
    };

    /// <summary>Client text quoted in a message is cut short: errors must not carry (or log) long user text.</summary>
    public static string Shorten(string s) => s.Length <= 40 ? s : s[..40] + "…";

    private void OutOfRange(string name, string min, string max, JsonElement v, bool minExclusive)
        => Problem(name, $"'{Param(name)}' must be in {(minExclusive ? '(' : '[')}{min}, {max}] (given {v.GetRawText()})");
}
