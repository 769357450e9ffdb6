using System.Text.Json;
using System.Text.Json.Serialization;

namespace Qwen.Bench;

/// <summary>How the benchmarks write their --out figures: indented snake_case JSON, NaN and infinities allowed.</summary>
internal static class BenchJson
{
    private static readonly JsonSerializerOptions Options = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    /// <summary>Writes <paramref name="figures"/> to <paramref name="path"/>.</summary>
    public static Task WriteAsync(string path, object figures) => File.WriteAllTextAsync(path, JsonSerializer.Serialize(figures, Options));
}
