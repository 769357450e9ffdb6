using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Qwen.Server.Protocol;

/// <summary>JSON settings of the OpenAI wire format: snake_case names, UTF-8 text unescaped.</summary>
public static class WireJson
{
    /// <summary>The serializer options every response uses.</summary>
    public static JsonSerializerOptions Options { get; } = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };
}
