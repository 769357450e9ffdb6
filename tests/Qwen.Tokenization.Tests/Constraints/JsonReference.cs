using System.Text.Json;
using System.Text.Unicode;

namespace Qwen.Tokenization.Tests.Constraints;

/// <summary>The independent JSON oracle: System.Text.Json, plus reading every string back (it parses lone surrogates and bad UTF-8, then throws on reading).</summary>
internal static class JsonReference
{
    /// <summary>Whether <paramref name="text"/> is UTF-8, parses, and every key and string value reads back.</summary>
    public static bool Parses(ReadOnlySpan<byte> text)
    {
        if (!Utf8.IsValid(text))
        {
            return false;
        }
        try
        {
            using var doc = JsonDocument.Parse(text.ToArray());
            ReadAllStrings(doc.RootElement);
            return true;
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            return false;
        }
    }

    /// <summary>Reads every key and string value (throws InvalidOperationException on a lone surrogate or invalid UTF-8).</summary>
    public static void ReadAllStrings(JsonElement e)
    {
        switch (e.ValueKind)
        {
            case JsonValueKind.String:
                _ = e.GetString();
                break;
            case JsonValueKind.Array:
                foreach (var item in e.EnumerateArray())
                {
                    ReadAllStrings(item);
                }
                break;
            case JsonValueKind.Object:
                foreach (var p in e.EnumerateObject())
                {
                    _ = p.Name;
                    ReadAllStrings(p.Value);
                }
                break;
        }
    }
}
