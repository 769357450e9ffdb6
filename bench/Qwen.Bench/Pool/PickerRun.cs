using Qwen.Bench.Load;

namespace Qwen.Bench.Pool;

/// <summary>
/// One picker's run of one level: the load generator's figures (<see cref="LevelSummary"/>), then how the picks spread:
/// requests and completion tokens (of the successful requests) per replica, the busiest replica's tokens over the mean
/// (1.0: even), and how old the metrics behind the picks were (the oldest replica's scrape at each pick; none for
/// round-robin). <paramref name="Round"/> and <paramref name="First"/> (whether it ran before the other picker in its
/// round) for one run; both null for a picker's runs of a level pooled.
/// </summary>
internal sealed record PickerRun(string Picker, int? Round, bool? First, LevelSummary Summary, IReadOnlyList<int> Picks, IReadOnlyList<long> CompletionTokens,
    double TokenImbalance, double? MetricsAgeMeanMs, double? MetricsAgeMaxMs);
