using System.Security.Cryptography;
using System.Text.Json;

namespace Qwen.Tokenization.ToolCalls;

/// <summary>The markup, and the rule for a block decided whole (one that did not start as <c>{"name": …, "arguments": {</c>).</summary>
internal static class ToolCallBlock
{
    public const string Open = "<tool_call>";
    public const string Close = "</tool_call>";

    /// <summary>
    /// A block decided whole is a call when its body is a JSON object with a non-empty string "name" and "arguments"
    /// that is an object (kept as the model wrote it), a string holding a JSON object (the string's content), or absent
    /// ("{}"). Anything else (arguments null, a number, an array, another string; an empty name; not JSON) is not a call.
    /// </summary>
    public static bool TryParse(string body, out string name, out string arguments)
    {
        name = arguments = string.Empty;
        try
        {
            using var doc = JsonDocument.Parse(body);
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("name", out var n) || n.ValueKind != JsonValueKind.String || n.GetString() is not { Length: > 0 } s)
            {
                return false;
            }
            if (!root.TryGetProperty("arguments", out var a))
            {
                arguments = "{}";
            }
            else if (a.ValueKind == JsonValueKind.Object)
            {
                arguments = a.GetRawText();
            }
            else if (a.ValueKind == JsonValueKind.String && a.GetString() is { } text && IsJsonObject(text))
            {
                arguments = text;
            }
            else
            {
                return false;
            }
            name = s;
            return true;
        }
        catch (Exception e) when (e is JsonException or ArgumentException)
        {
            return false; // not JSON (ArgumentException: text that cannot be transcoded, such as a lone surrogate)
        }
    }

    /// <summary>The default call id: "call_" and 24 random alphanumerics, as OpenAI's look.</summary>
    public static string NewId() => "call_" + RandomNumberGenerator.GetString("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", 24);

    /// <summary>JSON whitespace (what may separate tokens of the block's JSON).</summary>
    public static bool IsJsonWhitespace(char c) => c is ' ' or '\t' or '\n' or '\r';

    private static bool IsJsonObject(string text)
    {
        using var doc = JsonDocument.Parse(text);
        return doc.RootElement.ValueKind == JsonValueKind.Object;
    }
}
