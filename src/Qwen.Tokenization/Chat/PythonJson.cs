using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Qwen.Tokenization.Chat;

/// <summary>
/// Writes JSON exactly as Python's <c>json.dumps(x, ensure_ascii=False)</c> does, which is what the chat template's
/// <c>tojson</c> produces: ", " and ": " separators, keys in the given order (a repeated key once, at its first
/// position with its last value, as json.loads leaves it), non-ASCII kept, only '"', '\' and control characters
/// escaped, numbers as they were written.
/// </summary>
public static class PythonJson
{
    /// <summary>Serializes <paramref name="value"/> in Python's default json.dumps form.</summary>
    public static string Dumps(JsonElement value)
    {
        var sb = new StringBuilder();
        Write(sb, value);
        return sb.ToString();
    }

    /// <summary>Appends a JSON string literal for <paramref name="s"/>.</summary>
    public static void WriteString(StringBuilder sb, string s)
    {
        ArgumentNullException.ThrowIfNull(sb);
        ArgumentNullException.ThrowIfNull(s);
        sb.Append('"');
        foreach (var c in s)
        {
            switch (c)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                case '\b': sb.Append("\\b"); break;
                case '\f': sb.Append("\\f"); break;
                case < ' ': sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture)); break;
                default: sb.Append(c); break;
            }
        }
        sb.Append('"');
    }

    private static void Write(StringBuilder sb, JsonElement value)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.Object:
                sb.Append('{');
                var first = true;
                foreach (var (name, item) in Members(value))
                {
                    sb.Append(first ? "" : ", ");
                    first = false;
                    WriteString(sb, name);
                    sb.Append(": ");
                    Write(sb, item);
                }
                sb.Append('}');
                break;
            case JsonValueKind.Array:
                sb.Append('[');
                var firstItem = true;
                foreach (var item in value.EnumerateArray())
                {
                    sb.Append(firstItem ? "" : ", ");
                    firstItem = false;
                    Write(sb, item);
                }
                sb.Append(']');
                break;
            case JsonValueKind.String:
                WriteString(sb, value.GetString()!);
                break;
            case JsonValueKind.True: sb.Append("true"); break;
            case JsonValueKind.False: sb.Append("false"); break;
            case JsonValueKind.Null: sb.Append("null"); break;
            default: sb.Append(value.GetRawText()); break; // numbers as written
        }
    }

    /// <summary>
    /// An object's members as Python's json.loads leaves them: a repeated key keeps its first position and its last
    /// value (<c>{"a": 1, "a": 2}</c> is <c>{"a": 2}</c>).
    /// </summary>
    private static List<(string Name, JsonElement Value)> Members(JsonElement obj)
    {
        var members = new List<(string Name, JsonElement Value)>();
        var position = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var p in obj.EnumerateObject())
        {
            if (position.TryGetValue(p.Name, out var at))
            {
                members[at] = (p.Name, p.Value);
            }
            else
            {
                position[p.Name] = members.Count;
                members.Add((p.Name, p.Value));
            }
        }
        return members;
    }
}
