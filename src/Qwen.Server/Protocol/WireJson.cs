using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Qwen.Server.Protocol;

/// <summary>JSON settings of the OpenAI wire format: snake_case names, UTF-8 text unescaped.</summary>
public static class WireJson
{
    /// <summary>The serializer options every response uses.</summary>
    public static JsonSerializerOptions Options { get; } = Apply(new JsonSerializerOptions());

    /// <summary>Applies the wire settings to <paramref name="options"/> (also used for the OpenAPI document's schemas).</summary>
    public static JsonSerializerOptions Apply(JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower;
        options.DictionaryKeyPolicy = null; // dictionary keys are token strings (top_logprobs) or token ids (logit_bias): never renamed
        options.DefaultIgnoreCondition = JsonIgnoreCondition.Never;
        options.Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping;
        return options;
    }
}
