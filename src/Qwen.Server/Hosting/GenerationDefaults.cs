using System.Text.Json;

namespace Qwen.Server.Hosting;

/// <summary>The model's generation_config.json: defaults for unset sampling fields and the stop token ids.</summary>
public sealed record GenerationDefaults(float? Temperature, float? TopP, int? TopK, float? RepetitionPenalty, IReadOnlyList<int> EosTokenIds)
{
    /// <summary>Reads generation_config.json from <paramref name="modelDirectory"/> (all null when absent).</summary>
    public static GenerationDefaults Load(string modelDirectory)
    {
        var path = Path.Combine(modelDirectory, "generation_config.json");
        if (!File.Exists(path))
        {
            return new GenerationDefaults(null, null, null, null, []);
        }
        using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
        var r = doc.RootElement;
        float? F(string name) => r.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetSingle() : null;
        var eos = !r.TryGetProperty("eos_token_id", out var e) ? [] : e.ValueKind == JsonValueKind.Array ? e.EnumerateArray().Select(x => x.GetInt32()).ToList() : [e.GetInt32()];
        var sample = !r.TryGetProperty("do_sample", out var ds) || ds.ValueKind != JsonValueKind.False;
        return new GenerationDefaults(sample ? F("temperature") : 0f, F("top_p"), r.TryGetProperty("top_k", out var k) && k.ValueKind == JsonValueKind.Number ? k.GetInt32() : null, F("repetition_penalty"), eos);
    }
}
