namespace Qwen.Inference.Sampling;

/// <summary>What <see cref="Sampler.TrySampleCandidates"/> could do with a row's candidates alone.</summary>
public enum CandidateOutcome
{
    /// <summary>A token was picked, exactly as from the full row.</summary>
    Sampled,

    /// <summary>The constraint allows no token (as <see cref="Sampler.TrySample"/> returning false).</summary>
    NoneAllowed,

    /// <summary>Only the full row decides: nothing was drawn, recorded or accepted; sample the full row instead.</summary>
    NeedsFullRow,
}
