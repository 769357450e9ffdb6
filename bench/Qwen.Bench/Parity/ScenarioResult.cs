namespace Qwen.Bench.Parity;

/// <summary>One arrival pattern on the candidate engine, compared token by token with the reference.</summary>
/// <param name="Name">sequential, all-at-once or staggered.</param>
/// <param name="Requests">Requests the candidate served in this scenario.</param>
/// <param name="TokensEqual">Output tokens equal to the reference's, counted up to each request's first divergence.</param>
/// <param name="TokensTotal">Output tokens the requests asked for.</param>
/// <param name="Divergences">Every request that left the reference, with the position where it did.</param>
/// <param name="MaxAbsLogprobDiff">
/// Largest |Δlogprob| of the chosen token over the positions before each request's divergence. NaN when the candidate
/// produced one.
/// </param>
/// <param name="MaxAbsAlternativeLogprobDiff">The same over the alternatives both sides reported, matched by id.</param>
internal sealed record ScenarioResult(string Name, int Requests, int TokensEqual, int TokensTotal, IReadOnlyList<TokenDivergence> Divergences, double MaxAbsLogprobDiff, double MaxAbsAlternativeLogprobDiff);
