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

    /// <summary>Whether the candidate matched the reference.</summary>
    public bool Passed => TokensEqual == TokensTotal && MaxAbsLogprobDiff <= Tolerance && MaxAbsAlternativeLogprobDiff <= AlternativesTolerance;

    /// <summary>The one-line verdict: <c>parity PASS: 1152/1152 tokens equal, max |Δlogprob| 0.0231 (tolerance 0.05), alternatives 0.0581 (0.1)</c>.</summary>
    public string Summary => string.Create(CultureInfo.InvariantCulture, $"parity {(Passed ? "PASS" : "FAIL")}: {TokensEqual}/{TokensTotal} tokens equal, max |Δlogprob| {MaxAbsLogprobDiff:F4} (tolerance {Tolerance}), alternatives {MaxAbsAlternativeLogprobDiff:F4} ({AlternativesTolerance})");
}
