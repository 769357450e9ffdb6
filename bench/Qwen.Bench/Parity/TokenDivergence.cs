namespace Qwen.Bench.Parity;

/// <summary>Where a candidate request first left the reference's greedy continuation.</summary>
/// <param name="Request">The request's index within its scenario.</param>
/// <param name="Prompt">Which prompt it carried.</param>
/// <param name="Position">The first output position whose token differs (or the candidate's length when it ended early).</param>
/// <param name="Margin">
/// At that position, the reference's logprob of its own token minus its logprob of the candidate's: how near a tie the
/// reference saw the two. Null when the candidate's token is not among the reference's alternatives, or a run ended early.
/// </param>
internal readonly record struct TokenDivergence(int Request, int Prompt, int Position, double? Margin = null);
