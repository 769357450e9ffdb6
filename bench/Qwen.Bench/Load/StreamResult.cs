namespace Qwen.Bench.Load;

/// <summary>What one streamed request measured (times in seconds), or the kind of error that ended it.</summary>
internal sealed record StreamResult(double? Ttft, IReadOnlyList<double> InterToken, double EndToEnd, int OutputTokens, string? Error);
