using System.Globalization;

namespace Qwen.Bench.Parity;

/// <summary>The parity check's verdict: every token equal to the reference and every compared logprob within its tolerance.</summary>
/// <param name="Scenarios">One result per arrival pattern.</param>
/// <param name="Tolerance">The largest |Δlogprob| of the chosen token that passes.</param>
/// <param name="AlternativesTolerance">The largest |Δlogprob| of an alternative that passes.</param>
internal sealed record ParityReport(IReadOnlyList<ScenarioResult> Scenarios, double Tolerance, double AlternativesTolerance)
{
    /// <summary>Output tokens equal to the reference's, over all scenarios.</summary>
    public int TokensEqual => Scenarios.Sum(s => s.TokensEqual);

    /// <summary>Output tokens asked for, over all scenarios.</summary>
    public int TokensTotal => Scenarios.Sum(s => s.TokensTotal);

    /// <summary>Largest |Δlogprob| of the chosen token over all scenarios (NaN propagates).</summary>
    public double MaxAbsLogprobDiff => Scenarios.Select(s => s.MaxAbsLogprobDiff).Aggregate(0.0, Math.Max);

    /// <summary>Largest |Δlogprob| of an alternative over all scenarios (NaN propagates).</summary>
    public double MaxAbsAlternativeLogprobDiff => Scenarios.Select(s => s.MaxAbsAlternativeLogprobDiff).Aggregate(0.0, Math.Max);

    /// <summary>
    /// A divergence where the reference saw the candidate's token within this many nats of its own passes as a near-tie
    /// (<see cref="TokenDivergence.Margin"/>); 0, the default, lets none pass. For a candidate whose arithmetic differs
    /// (int4 on CUDA against the CPU: float16 against float32 sums), whose pick may flip where the reference's top two are
    /// closer than the logprob noise.
    /// </summary>
    public double TieMargin { get; init; }

    /// <summary>Divergences that are near-ties under <see cref="TieMargin"/>.</summary>
    public int NearTies => TieMargin > 0 ? Scenarios.Sum(s => s.Divergences.Count(d => d.Margin <= TieMargin)) : 0;

    /// <summary>Whether the candidate matched the reference: every token equal, or every divergence a near-tie, and every logprob within its bound.</summary>
    public bool Passed
        => (TokensEqual == TokensTotal || NearTies == Scenarios.Sum(s => s.Divergences.Count))
        && MaxAbsLogprobDiff <= Tolerance && MaxAbsAlternativeLogprobDiff <= AlternativesTolerance;

    /// <summary>The one-line verdict: <c>parity PASS: 1152/1152 tokens equal, max |Δlogprob| 0.0231 (tolerance 0.05), alternatives 0.0581 (0.1)</c>.</summary>
    public string Summary => string.Create(CultureInfo.InvariantCulture, $"parity {(Passed ? "PASS" : "FAIL")}: {TokensEqual}/{TokensTotal} tokens equal, max |Δlogprob| {MaxAbsLogprobDiff:F4} (tolerance {Tolerance}), alternatives {MaxAbsAlternativeLogprobDiff:F4} ({AlternativesTolerance}){(TieMargin > 0 ? $", {NearTies} of {Scenarios.Sum(s => s.Divergences.Count)} divergences near-ties (reference margin <= {TieMargin})" : "")}");
}
