namespace Qwen.Bench.Parity;

/// <summary>Where a candidate request first left the reference's greedy continuation.</summary>
/// <param name="Request">The request's index within its scenario.</param>
/// <param name="Prompt">Which prompt it carried.</param>
/// <param name="Position">The first output position whose token differs (or the candidate's length when it ended early).</param>
internal readonly record struct TokenDivergence(int Request, int Prompt, int Position);
