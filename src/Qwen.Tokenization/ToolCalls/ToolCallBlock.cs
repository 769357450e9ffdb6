using System.Security.Cryptography;
using System.Text.Json;

namespace Qwen.Tokenization.ToolCalls;

/// <summary>The markup and the rules shared by the streaming and the whole-text parser, so both decide alike.</summary>
internal static class ToolCallBlock
{
    public const string Open = "<tool_call>";
    public const string Close = "</tool_call>";

    /// <summary>
    /// A block is a call when its body is a JSON object with a string "name"; "arguments" is kept as the model wrote it
    /// (an object's raw text, or a string's value), "{}" when absent. Anything else is not a call.
    /// </summary>
    public static bool TryParse(string body, out string name, out string arguments)
    {
        name = arguments = string.Empty;
        try
        {
            using var doc = JsonDocument.Parse(body);
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("name", out var n) || n.ValueKind != JsonValueKind.String)
            {
                return false;
            }
            name = n.GetString()!;
            arguments = !root.TryGetProperty("arguments", out var a) ? "{}" : a.ValueKind == JsonValueKind.String ? a.GetString()! : a.GetRawText();
            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    /// <summary>The default call id: "call_" and 24 random alphanumerics, as OpenAI's look.</summary>
    public static string NewId() => "call_" + RandomNumberGenerator.GetString("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", 24);
}
