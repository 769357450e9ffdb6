namespace Qwen.Bench.Pool;

/// <summary>One load level (a request rate) with the runs of both pickers over the same request sequence.</summary>
internal sealed record PoolLevel(string Level, double Rate, int Requests, IReadOnlyList<PickerRun> Runs);
