namespace Qwen.Bench.Load;

/// <summary>
/// What one streamed request measured (times in seconds), or the kind of error that ended it (null: success).
/// <paramref name="InterToken"/> holds one gap per token after the first: a chunk that carried k tokens after a gap dt
/// contributes k gaps of dt/k. <paramref name="UnattributedTokens"/> counts tokens the final usage reports beyond those
/// the chunks could be credited with (the server said nothing per chunk, so they were counted one token per chunk).
/// </summary>
internal sealed record StreamResult(double? Ttft, IReadOnlyList<double> InterToken, double EndToEnd, int OutputTokens, string? Error, int UnattributedTokens)
{
    /// <summary>Error kinds other than "http NNN".</summary>
    public const string ErrorEvent = "error event", Timeout = "timeout", Connection = "connection", Truncated = "truncated", Malformed = "malformed event", Cancelled = "cancelled";
}
