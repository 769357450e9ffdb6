using System.Globalization;
using System.Text.Json.Serialization;

namespace Qwen.Inference.Model;

/// <summary>The manifest's <c>rope_scaling</c>: the YaRN stretch the exporter wrote into the rotary tables (the graph needs nothing else from it).</summary>
public sealed record RopeScaling
{
    /// <summary>yarn (the only type the exporter writes).</summary>
    [JsonPropertyName("type")] public string Type { get; init; } = "yarn";

    /// <summary>How many times the trained context the positions reach.</summary>
    [JsonPropertyName("factor")] public double Factor { get; init; }

    /// <summary>The context the model was trained for.</summary>
    [JsonPropertyName("original_max_position_embeddings")] public int OriginalMaxPositionEmbeddings { get; init; }

    /// <summary>For logs: "yarn x4 of 32768 trained positions".</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Type} x{Factor} of {OriginalMaxPositionEmbeddings} trained positions");
}
