using System.Text.RegularExpressions;
using Qwen.Tokenization.Constraints;

namespace Qwen.Server.Validation;

/// <summary>
/// What the assistant's text must be, read from chat's <c>response_format</c> or /v1/responses' <c>text.format</c>:
/// free text (no schema), any JSON object (<c>json_object</c>), or JSON following a schema (<c>json_schema</c>). Both
/// JSON kinds are enforced by a grammar; <c>strict: false</c> is enforced too (as vLLM does), since the model can only
/// gain from it.
/// </summary>
/// <param name="Schema">The compiled schema the text must follow; null for free text.</param>
internal sealed partial record OutputFormat(CompiledJsonSchema? Schema)
{
    /// <summary>Free text.</summary>
    public static OutputFormat Text { get; } = new((CompiledJsonSchema?)null);

    /// <summary>Reads chat's <c>{"type": "json_schema", "json_schema": {"name", "schema", "strict"}}</c> (or text, json_object).</summary>
    public static OutputFormat ReadChat(FieldReader body)
    {
        if (body.Object("response_format") is not { } rf)
        {
            return Text;
        }
        return Type(rf) switch
        {
            "json_object" => new(CompiledJsonSchema.AnyObject),
            "json_schema" when rf.Object("json_schema") is { } js => JsonSchema(js),
            "json_schema" when !rf.TryGet("json_schema", out _) => Missing(rf, "json_schema", "'response_format.json_schema' is required when the type is json_schema"),
            _ => Text,
        };
    }

    /// <summary>Reads a format object in the flat shape <c>{"type": "json_schema", "name", "schema", "strict"}</c> (/v1/responses' <c>text.format</c>).</summary>
    public static OutputFormat ReadFlat(FieldReader format)
        => Type(format) switch
        {
            "json_object" => new(CompiledJsonSchema.AnyObject),
            "json_schema" => JsonSchema(format),
            _ => Text,
        };

    /// <summary>
    /// Compiles <paramref name="schema"/> (through <see cref="SchemaCache"/>), recording an unsupported keyword as a
    /// problem whose param is <paramref name="param"/> followed by the keyword's path in the schema; null then.
    /// </summary>
    public static CompiledJsonSchema? Compile(System.Text.Json.JsonElement schema, string param, RequestProblems problems)
    {
        try
        {
            return SchemaCache.Compile(schema);
        }
        catch (JsonSchemaException e)
        {
            problems.Add(param + PointerToParam(e.Path), $"'{param}' is not supported: {e.Message}");
            return null;
        }
    }

    private static string? Type(FieldReader format)
    {
        var type = format.String("type");
        if (type is "text" or "json_object" or "json_schema")
        {
            return type;
        }
        var at = format.Param("type");
        if (type is not null)
        {
            format.Problem("type", $"'{at}' must be text, json_object or json_schema (given '{FieldReader.Shorten(type)}')");
        }
        else if (!format.TryGet("type", out _))
        {
            format.Problem("type", $"'{at}' is required");
        }
        return null;
    }

    private static OutputFormat JsonSchema(FieldReader js)
    {
        if (js.String("name") is { } name && !NamePattern().IsMatch(name))
        {
            js.Problem("name", $"'{js.Param("name")}' must be 1 to 64 letters, digits, '_' or '-' (given '{FieldReader.Shorten(name)}')");
        }
        else if (!js.TryGet("name", out _))
        {
            js.Problem("name", $"'{js.Param("name")}' is required");
        }
        js.String("description");
        js.Bool("strict");
        if (js.Object("schema") is not { } schema)
        {
            if (!js.TryGet("schema", out _))
            {
                js.Problem("schema", $"'{js.Param("schema")}' is required: this server enforces the schema, so it needs one");
            }
            return Text;
        }
        return Compile(schema.Element, js.Param("schema"), js.Problems) is { } compiled ? new(compiled) : Text;
    }

    private static OutputFormat Missing(FieldReader rf, string name, string message)
    {
        rf.Problem(name, message);
        return Text;
    }

    /// <summary>"/properties/a~1b/format" → ".properties.a/b.format": the schema path as the rest of an error's param.</summary>
    private static string PointerToParam(string pointer)
        => string.Concat(pointer.Split('/', StringSplitOptions.RemoveEmptyEntries).Select(p => "." + p.Replace("~1", "/", StringComparison.Ordinal).Replace("~0", "~", StringComparison.Ordinal)));

    [GeneratedRegex("^[A-Za-z0-9_-]{1,64}$")]
    private static partial Regex NamePattern();
}
