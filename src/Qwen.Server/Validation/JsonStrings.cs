using System.Text.Json;

namespace Qwen.Server.Validation;

/// <summary>
/// Whether every string in a JSON value is Unicode text. System.Text.Json's parser lets invalid UTF-8 and escaped lone
/// surrogates ("\ud800") through, and reading such a string later throws InvalidOperationException (found by
/// tests/Qwen.Server.Tests/Robustness/FuzzTests); checking once up front makes it a 400 instead of a 500.
/// </summary>
internal static class JsonStrings
{
    /// <summary>False when a string or property name in <paramref name="element"/> does not decode to Unicode text.</summary>
    public static bool AreUnicode(JsonElement element)
    {
        try
        {
            Decode(element);
            return true;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    /// <summary>
    /// False when <paramref name="json"/> is JSON text holding a string that is not Unicode text (a tool call's arguments
    /// "{\"a\": \"\\ud800\"}"): Python's json.loads would accept it, but the lone surrogate it makes cannot be encoded for
    /// the tokenizer, so no prompt can be rendered. Text that is not JSON at all is true: the template writes it as a string.
    /// </summary>
    public static bool IsUnicodeJson(string json)
    {
        try
        {
            using var document = JsonDocument.Parse(json);
            return AreUnicode(document.RootElement);
        }
        catch (JsonException)
        {
            return true;
        }
    }

    /// <summary>The problem for a tool call's arguments <paramref name="param"/> that fails <see cref="IsUnicodeJson"/>.</summary>
    public static string NotUnicodeJson(string param)
        => $"'{param}' is JSON holding a string that is not Unicode text (a lone surrogate escape such as \\ud800)";

    private static void Decode(JsonElement element)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.String:
                element.GetString();
                break;
            case JsonValueKind.Array:
                foreach (var item in element.EnumerateArray())
                {
                    Decode(item);
                }
                break;
            case JsonValueKind.Object:
                foreach (var property in element.EnumerateObject())
                {
                    _ = property.Name;
                    Decode(property.Value);
                }
                break;
        }
    }
}
