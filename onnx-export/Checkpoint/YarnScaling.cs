using System.Globalization;
using System.Text.Json.Nodes;

namespace Qwen.OnnxExport.Checkpoint;

/// <summary>
/// config.json's <c>rope_scaling</c> of type yarn, read as Transformers reads it (<c>_compute_yarn_parameters</c>): static
/// YaRN, the same frequencies at every length. Qwen2.5's model cards enable 128K tokens with
/// <c>{"type": "yarn", "factor": 4.0, "original_max_position_embeddings": 32768}</c>.
/// </summary>
public sealed record YarnScaling
{
    /// <summary>The keys a yarn rope_scaling may hold; any other is refused rather than silently ignored.</summary>
    private static readonly string[] Keys = ["type", "rope_type", "factor", "original_max_position_embeddings", "beta_fast", "beta_slow", "attention_factor", "mscale", "mscale_all_dim", "truncate"];

    /// <summary>How many times the trained context the positions stretch to.</summary>
    public required double Factor { get; init; }

    /// <summary>The context the model was trained for, which the correction range is measured against.</summary>
    public required int OriginalMaxPositionEmbeddings { get; init; }

    /// <summary>Rotations below which a frequency is interpolated (divided by the factor); 32 unless given.</summary>
    public double BetaFast { get; init; } = 32;

    /// <summary>Rotations above which a frequency is kept as trained; 1 unless given.</summary>
    public double BetaSlow { get; init; } = 1;

    /// <summary>The factor cos and sin are multiplied by (so q·k by its square): 0.1·ln(factor) + 1 unless given.</summary>
    public required double AttentionFactor { get; init; }

    /// <summary>Whether the correction range's bounds are rounded outwards to whole dimensions (Transformers' default).</summary>
    public bool Truncate { get; init; } = true;

    /// <summary>The positions the scaling reaches: factor × original_max_position_embeddings.</summary>
    public int MaxPositions => (int)Math.Min(int.MaxValue, Math.Floor(Factor * OriginalMaxPositionEmbeddings));

    /// <summary>What a Qwen2.5 model card says to add: the factor over the model's own max_position_embeddings, every other field at its default.</summary>
    public static YarnScaling ModelCard(double factor, int originalMaxPositionEmbeddings) => new()
    {
        Factor = factor,
        OriginalMaxPositionEmbeddings = originalMaxPositionEmbeddings,
        AttentionFactor = Mscale(factor),
    };

    /// <summary>Reads a rope_scaling object whose type is yarn; <paramref name="path"/> names config.json in messages.</summary>
    public static YarnScaling Parse(JsonObject o, int maxPositionEmbeddings, string path)
    {
        ArgumentNullException.ThrowIfNull(o);
        if (o.Select(p => p.Key).FirstOrDefault(k => !Keys.Contains(k)) is { } unknown)
        {
            throw new ExportException($"{path}: rope_scaling has an unknown key '{unknown}' (a yarn rope_scaling takes {string.Join(", ", Keys)})");
        }
        double? Number(string key, double min, bool inclusive)
        {
            var node = o[key];
            if (node is null)
            {
                return null;
            }
            if (node is JsonValue v && v.TryGetValue(out double value) && double.IsFinite(value) && (inclusive ? value >= min : value > min))
            {
                return value;
            }
            throw new ExportException($"{path}: rope_scaling.{key} must be a number {(inclusive ? ">=" : ">")} {min.ToString(CultureInfo.InvariantCulture)} (given {node.ToJsonString()})");
        }
        var factor = Number("factor", 1, inclusive: true) ?? throw new ExportException($"{path}: rope_scaling of type yarn needs a 'factor' (4.0 for Qwen2.5's 128K tokens)");
        var original = maxPositionEmbeddings;
        if (o["original_max_position_embeddings"] is { } node)
        {
            original = node is JsonValue v && v.TryGetValue(out int value) && value > 0
                ? value
                : throw new ExportException($"{path}: rope_scaling.original_max_position_embeddings must be a positive integer (given {node.ToJsonString()})");
        }
        var truncate = true;
        if (o["truncate"] is { } t)
        {
            truncate = t is JsonValue tv && tv.TryGetValue(out bool b) ? b : throw new ExportException($"{path}: rope_scaling.truncate must be true or false (given {t.ToJsonString()})");
        }
        // As Transformers: a zero or absent beta takes its default ("or 32"), and mscale / mscale_all_dim (DeepSeek's) only
        // shape the default attention factor, when both are given and non-zero.
        var betaFast = Number("beta_fast", 0, inclusive: true) is { } fast and not 0 ? fast : 32;
        var betaSlow = Number("beta_slow", 0, inclusive: true) is { } slow and not 0 ? slow : 1;
        if (betaFast < betaSlow)
        {
            throw new ExportException($"{path}: rope_scaling.beta_fast ({betaFast}) must be at least beta_slow ({betaSlow})");
        }
        var mscale = Number("mscale", 0, inclusive: true);
        var mscaleAllDim = Number("mscale_all_dim", 0, inclusive: true);
        var attention = Number("attention_factor", 0, inclusive: false)
            ?? (mscale is { } m and not 0 && mscaleAllDim is { } all and not 0 ? Mscale(factor, m) / Mscale(factor, all) : Mscale(factor));
        var scaling = new YarnScaling
        {
            Factor = factor,
            OriginalMaxPositionEmbeddings = original,
            BetaFast = betaFast,
            BetaSlow = betaSlow,
            AttentionFactor = attention,
            Truncate = truncate,
        };
        return scaling.MaxPositions > 0 ? scaling : throw new ExportException($"{path}: rope_scaling reaches no position");
    }

    /// <summary>
    /// The head's <paramref name="headDim"/>/2 inverse frequencies: the trained ones (1/theta^(2i/d)) for the dimensions that
    /// rotate more than beta_fast times over the original context, those divided by the factor for the ones that rotate
    /// less than beta_slow times, and a linear blend between.
    /// </summary>
    public double[] InverseFrequencies(int headDim, double theta)
    {
        double CorrectionDim(double rotations) => headDim * Math.Log(OriginalMaxPositionEmbeddings / (rotations * 2 * Math.PI)) / (2 * Math.Log(theta));
        var low = CorrectionDim(BetaFast);
        var high = CorrectionDim(BetaSlow);
        if (Truncate)
        {
            (low, high) = (Math.Floor(low), Math.Ceiling(high));
        }
        (low, high) = (Math.Max(low, 0), Math.Min(high, headDim - 1));
        if (low == high)
        {
            high += 0.001; // as Transformers: no division by zero
        }
        var result = new double[headDim / 2];
        for (var i = 0; i < result.Length; i++)
        {
            var trained = 1 / Math.Pow(theta, 2.0 * i / headDim);
            var interpolated = Math.Clamp((i - low) / (high - low), 0, 1); // 0: as trained, 1: divided by the factor
            result[i] = (trained / Factor * interpolated) + (trained * (1 - interpolated));
        }
        return result;
    }

    /// <summary>The manifest's record of the scaling, every value as the graph used it.</summary>
    public JsonObject ToJson() => new()
    {
        ["type"] = "yarn",
        ["factor"] = Factor,
        ["original_max_position_embeddings"] = OriginalMaxPositionEmbeddings,
        ["beta_fast"] = BetaFast,
        ["beta_slow"] = BetaSlow,
        ["attention_factor"] = AttentionFactor,
        ["truncate"] = Truncate,
    };

    /// <summary>YaRN's attention scale for a stretch of <paramref name="scale"/>: 0.1·m·ln(scale) + 1, and 1 for no stretch.</summary>
    private static double Mscale(double scale, double m = 1) => scale <= 1 ? 1 : (0.1 * m * Math.Log(scale)) + 1;
}
