namespace Qwen.Reference;

/// <summary>rope_scaling's yarn fields as config.json gives them; null where absent (the defaults are applied by <see cref="RopeReference.Yarn"/>).</summary>
/// <param name="Factor">The context extension factor (required).</param>
/// <param name="OriginalMaxPositionEmbeddings">The trained context (default: max_position_embeddings).</param>
/// <param name="AttentionFactor">The cos/sin multiplier (default: from mscale and mscale_all_dim, else get_mscale(factor)).</param>
/// <param name="BetaFast">Rotations that bound extrapolation (default 32).</param>
/// <param name="BetaSlow">Rotations that bound interpolation (default 1).</param>
/// <param name="Mscale">DeepSeek's mscale (used only with <paramref name="MscaleAllDim"/>).</param>
/// <param name="MscaleAllDim">DeepSeek's mscale_all_dim.</param>
/// <param name="Truncate">Round the correction range outwards to whole dimensions (default true).</param>
public sealed record YarnParameters(double Factor, double? OriginalMaxPositionEmbeddings = null, double? AttentionFactor = null, double? BetaFast = null, double? BetaSlow = null, double? Mscale = null, double? MscaleAllDim = null, bool Truncate = true);
