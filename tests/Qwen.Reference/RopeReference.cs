using System.Text.Json;

namespace Qwen.Reference;

/// <summary>
/// Rotary embedding parameters of a Qwen2 config.json in double precision: one inverse frequency per pair of a head's
/// dimensions and the attention factor both cos and sin are multiplied by. Plain RoPE without rope_scaling; with
/// rope_scaling of type yarn, written from the definition of Transformers' <c>_compute_yarn_parameters</c> (not from our
/// exporter): NTK-by-parts interpolation between the extrapolated and the factor-interpolated frequencies along a
/// linear ramp between the correction dimensions of beta_fast and beta_slow rotations.
/// </summary>
/// <param name="InverseFrequencies">inv_freq(i) for i in [0, head_dim / 2): the angle at position p is p * inv_freq(i).</param>
/// <param name="AttentionFactor">The factor cos and sin are both multiplied by (1 without scaling).</param>
public sealed record RopeReference(IReadOnlyList<double> InverseFrequencies, double AttentionFactor)
{
    /// <summary>cos(p * inv_freq(i)) * attention_factor.</summary>
    public double Cos(long position, int i) => Math.Cos(position * InverseFrequencies[i]) * AttentionFactor;

    /// <summary>sin(p * inv_freq(i)) * attention_factor.</summary>
    public double Sin(long position, int i) => Math.Sin(position * InverseFrequencies[i]) * AttentionFactor;

    /// <summary>The parameters of the config.json at <paramref name="configPath"/>.</summary>
    public static RopeReference FromConfigFile(string configPath)
    {
        using var config = JsonDocument.Parse(File.ReadAllText(configPath));
        return FromConfig(config.RootElement);
    }

    /// <summary>
    /// The parameters of a parsed config.json: rope_theta, head_dim = hidden_size / num_attention_heads,
    /// max_position_embeddings and rope_scaling (absent or null: plain RoPE; "type" or "rope_type" yarn; any other
    /// type is refused, this reference knows no other).
    /// </summary>
    public static RopeReference FromConfig(JsonElement config)
    {
        var theta = config.GetProperty("rope_theta").GetDouble();
        var headDim = config.GetProperty("hidden_size").GetInt32() / config.GetProperty("num_attention_heads").GetInt32();
        if (!config.TryGetProperty("rope_scaling", out var scaling) || scaling.ValueKind == JsonValueKind.Null)
        {
            return Plain(theta, headDim);
        }
        var type = scaling.TryGetProperty("rope_type", out var t) ? t.GetString() : scaling.GetProperty("type").GetString();
        if (type is "default")
        {
            return Plain(theta, headDim);
        }
        if (type is not "yarn")
        {
            throw new NotSupportedException($"rope_scaling type '{type}' has no reference");
        }
        return Yarn(theta, headDim, config.GetProperty("max_position_embeddings").GetInt32(), new YarnParameters(
            Factor: scaling.GetProperty("factor").GetDouble(),
            OriginalMaxPositionEmbeddings: Number(scaling, "original_max_position_embeddings"),
            AttentionFactor: Number(scaling, "attention_factor"),
            BetaFast: Number(scaling, "beta_fast"),
            BetaSlow: Number(scaling, "beta_slow"),
            Mscale: Number(scaling, "mscale"),
            MscaleAllDim: Number(scaling, "mscale_all_dim"),
            Truncate: !scaling.TryGetProperty("truncate", out var truncate) || truncate.ValueKind == JsonValueKind.Null || truncate.GetBoolean()));
    }

    /// <summary>Plain RoPE: inv_freq(i) = 1 / theta^(2i / head_dim), attention factor 1.</summary>
    public static RopeReference Plain(double theta, int headDim)
        => new(Enumerable.Range(0, headDim / 2).Select(i => 1 / Math.Pow(theta, 2.0 * i / headDim)).ToArray(), 1);

    /// <summary>YaRN's inverse frequencies and attention factor, step by step as Transformers computes them.</summary>
    public static RopeReference Yarn(double theta, int headDim, int maxPositionEmbeddings, YarnParameters p)
    {
        ArgumentNullException.ThrowIfNull(p);
        var factor = p.Factor;
        var original = p.OriginalMaxPositionEmbeddings ?? maxPositionEmbeddings;

        // get_mscale(scale, m) = 1 if scale <= 1 else 0.1 m ln(scale) + 1
        static double GetMscale(double scale, double m = 1) => scale <= 1 ? 1 : (0.1 * m * Math.Log(scale)) + 1;
        var attentionFactor = p.AttentionFactor
            ?? (p.Mscale is { } m && m != 0 && p.MscaleAllDim is { } all && all != 0 ? GetMscale(factor, m) / GetMscale(factor, all) : GetMscale(factor));

        // `beta_fast or 32`, `beta_slow or 1`: absent and 0 both take the default.
        var betaFast = p.BetaFast is { } fast && fast != 0 ? fast : 32;
        var betaSlow = p.BetaSlow is { } slow && slow != 0 ? slow : 1;

        // The dimension whose wavelength makes n full rotations over the original context.
        double FindCorrectionDim(double n) => headDim * Math.Log(original / (n * 2 * Math.PI)) / (2 * Math.Log(theta));
        var low = FindCorrectionDim(betaFast);
        var high = FindCorrectionDim(betaSlow);
        if (p.Truncate)
        {
            low = Math.Floor(low);
            high = Math.Ceiling(high);
        }
        low = Math.Max(low, 0);
        high = Math.Min(high, headDim - 1);
        if (low == high)
        {
            high += 0.001; // avoids the division by zero, as Transformers' linear_ramp_factor does
        }

        var inverse = new double[headDim / 2];
        for (var i = 0; i < inverse.Length; i++)
        {
            var ramp = Math.Clamp((i - low) / (high - low), 0, 1);
            var posFreq = Math.Pow(theta, 2.0 * i / headDim);
            var extrapolation = 1 / posFreq;
            var interpolation = 1 / (factor * posFreq);
            // Transformers: extrapolation_factor = 1 - ramp; inv = interpolation * (1 - ef) + extrapolation * ef.
            inverse[i] = (interpolation * ramp) + (extrapolation * (1 - ramp));
        }
        return new RopeReference(inverse, attentionFactor);
    }

    private static double? Number(JsonElement scaling, string name)
        => scaling.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetDouble() : null;
}
