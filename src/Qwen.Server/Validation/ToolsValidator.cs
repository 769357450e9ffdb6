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
        if (!body.TryGet("tools", out var array))
        {
            return tools;
        }
        if (array.ValueKind != JsonValueKind.Array)
        {
            body.WrongType("tools", "an array", array);
            return tools;
        }
        var i = 0;
        foreach (var tool in array.EnumerateArray())
        {
            var at = $"tools[{i++}]";
            if (tool.ValueKind != JsonValueKind.Object)
            {
                body.Problems.Add(at, $"'{at}' must be an object (given {FieldReader.Describe(tool)})");
                continue;
            }
            var t = new FieldReader(tool, at, body.Problems);
            var type = t.String("type");
            if (type != "function" && (type is not null || !t.TryGet("type", out _)))
            {
                t.Problem("type", $"'{at}.type' must be 'function'" + (type is null ? "" : $" (given '{FieldReader.Shorten(type)}')"));
            }
            if (t.Object("function") is not { } f)
            {
                if (!t.TryGet("function", out _))
                {
                    t.Problem("function", $"'{at}.function' is required");
                }
                continue;
            }
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
                if (tools.Exists(known => known.Name == name))
                {
                    f.Problem("name", $"'{at}.function.name' repeats '{FieldReader.Shorten(name)}': function names must be unique");
                }
                // The template writes the tool object exactly as sent; the clone outlives the request body's document.
                tools.Add(new ChatTool(name, tool.Clone()));
            }
            else if (!f.TryGet("name", out var n) || n.ValueKind == JsonValueKind.String)
            {
                f.Problem("name", $"'{at}.function.name' is required");
            }
        }
        return tools;
    }
}
