using System.Text.Json;
using Qwen.Tokenization.Chat;

namespace Qwen.Server.Validation;

/// <summary>
/// Reads <c>tools</c> into the chat template's typed tools, recording every problem under its path (tools[1].function.name):
/// each tool an object of type function with a function object whose name is a unique non-empty string, an optional
/// string description and an optional JSON Schema object as parameters.
/// </summary>
internal static class ToolsValidator
{
    /// <summary>
    /// The tools with a valid name, in order; an absent or null <c>tools</c> is none. When there were problems the list
    /// may be partial, and is only read for its names (tool_choice reports its own problems against them).
    /// </summary>
    public static List<ChatTool> Read(FieldReader body)
    {
        var tools = new List<ChatTool>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (t, tool) in Objects(body, "tools", owned: true))
        {
            var type = t.String("type");
            if (type != "function" && (type is not null || !t.TryGet("type", out _)))
            {
                t.Problem("type", $"'{t.Param("type")}' must be 'function'" + (type is null ? "" : $" (given '{FieldReader.Shorten(type)}')"));
            }
            if (t.Object("function") is not { } f)
            {
                if (!t.TryGet("function", out _))
                {
                    t.Problem("function", $"'{t.Param("function")}' is required");
                }
                continue;
            }
            if (Function(f, names) is { } name)
            {
                // The template writes the tool object exactly as sent (from the array's copy, which outlives the body).
                tools.Add(new ChatTool(name, tool));
            }
        }
        return tools;
    }

    /// <summary>
    /// The objects of array field <paramref name="name"/>, each with a reader whose problems carry its path (tools[3]);
    /// a field that is not an array, and an item that is not an object, are problems. Absent or null: none. With
    /// <paramref name="owned"/> the items come from one copy of the array that outlives the body's document (one copy,
    /// not one per item: 100,000 small documents cost more than the validation itself).
    /// </summary>
    public static IEnumerable<(FieldReader Reader, JsonElement Element)> Objects(FieldReader body, string name, bool owned = false)
    {
        if (!body.TryGet(name, out var array))
        {
            yield break;
        }
        if (array.ValueKind != JsonValueKind.Array)
        {
            body.WrongType(name, "an array", array);
            yield break;
        }
        if (owned)
        {
            array = array.Clone();
        }
        var i = 0;
        foreach (var item in array.EnumerateArray())
        {
            var at = $"{body.Param(name)}[{i++}]";
            if (item.ValueKind != JsonValueKind.Object)
            {
                body.Problems.Add(at, $"'{at}' must be an object (given {FieldReader.Describe(item)})");
                continue;
            }
            yield return (new FieldReader(item, at, body.Problems), item);
        }
    }

    /// <summary>
    /// Checks a function's fields as chat (<c>tools[i].function</c>) and /v1/responses (<c>tools[i]</c>, flat) both send
    /// them: a unique non-empty name, an optional string description, an optional JSON Schema object as parameters that
    /// the grammar must be able to enforce when <c>strict</c> is true. Returns the name when it is valid (unique or not:
    /// a repeat is recorded as a problem), else null.
    /// </summary>
    public static string? Function(FieldReader f, HashSet<string> names)
    {
        f.String("description");
        var hasParameters = f.TryGet("parameters", out var p);
        if (hasParameters && p.ValueKind != JsonValueKind.Object)
        {
            f.WrongType("parameters", "a JSON Schema object", p);
        }
        else if (f.Bool("strict") == true && hasParameters)
        {
            // A strict function's arguments always follow its schema, so it must be one the grammar can enforce.
            OutputFormat.Compile(p, f.Param("parameters"), f.Problems);
        }
        if (f.String("name") is { Length: > 0 } name)
        {
            if (!names.Add(name))
            {
                f.Problem("name", $"'{f.Param("name")}' repeats '{FieldReader.Shorten(name)}': function names must be unique");
            }
            return name;
        }
        if (!f.TryGet("name", out var n) || n.ValueKind == JsonValueKind.String)
        {
            f.Problem("name", $"'{f.Param("name")}' is required");
        }
        return null;
    }
}
