using System.Text.Json;

namespace Qwen.Server.Hosting;

/// <summary>
/// The model's generation_config.json: defaults for unset sampling fields, the stop token ids, and max_new_tokens
/// (<see cref="MaxNewTokens"/>), a request's max_tokens when it sets none, as in vLLM (null: all the room its prompt leaves).
/// </summary>
public sealed record GenerationDefaults(float? Temperature, float? TopP, int? TopK, float? RepetitionPenalty, IReadOnlyList<int> EosTokenIds, int? MaxNewTokens = null)
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
        int? I(string name) => r.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetInt32() : null;
        return new GenerationDefaults(sample ? F("temperature") : 0f, F("top_p"), I("top_k"), F("repetition_penalty"), eos, I("max_new_tokens") is > 0 and var most ? most : null);
    }
}
