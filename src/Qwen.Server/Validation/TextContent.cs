using System.Text.Json;

namespace Qwen.Server.Validation;

/// <summary>
/// A message's text as chat (<c>content</c>: text parts) and /v1/responses (<c>content</c>, <c>output</c>: input_text and
/// output_text parts) send it: a string, or an array of text parts joined with "\n" (as vLLM joins them). Other part
/// types (images, audio, files) are problems naming the part: this server reads text only.
/// </summary>
internal static class TextContent
{
    /// <summary>The text of field <paramref name="field"/> of <paramref name="owner"/>, or null when it had a problem (recorded).</summary>
    public static string? Read(JsonElement value, FieldReader owner, string field, params string[] partTypes)
    {
        var at = owner.Param(field);
        if (value.ValueKind == JsonValueKind.String)
        {
            return value.GetString()!;
        }
        if (value.ValueKind != JsonValueKind.Array)
        {
            owner.WrongType(field, $"a string or an array of {partTypes[0]} parts", value);
            return null;
        }
        var before = owner.Problems.Count;
        var texts = new List<string>();
        var i = 0;
        foreach (var part in value.EnumerateArray())
        {
            var pat = $"{at}[{i++}]";
            if (part.ValueKind != JsonValueKind.Object)
            {
                owner.Problems.Add(pat, $"'{pat}' must be a content part object (given {FieldReader.Describe(part)})");
                continue;
            }
            var p = new FieldReader(part, pat, owner.Problems);
            var type = p.String("type");
            if (type is null)
            {
                if (!p.TryGet("type", out _))
                {
                    p.Problem("type", $"'{pat}.type' is required");
                }
            }
            else if (!partTypes.Contains(type))
            {
                p.Problem("type", $"'{pat}.type' must be {string.Join(" or ", partTypes.Select(t => $"'{t}'"))} (given '{FieldReader.Shorten(type)}'; this server reads text only)");
            }
            if (p.String("text") is { } text)
            {
                texts.Add(text);
            }
            else if (!p.TryGet("text", out _))
            {
                p.Problem("text", $"'{pat}.text' is required");
            }
        }
        return owner.Problems.Count == before ? string.Join('\n', texts) : null;
    }
}
