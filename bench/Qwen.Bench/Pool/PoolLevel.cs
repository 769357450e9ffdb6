namespace Qwen.Bench.Pool;

/// <summary>
/// One load level (a request rate): <paramref name="Rounds"/> rounds of <paramref name="Requests"/> requests per picker,
/// each round one request sequence sent once through each picker; <paramref name="Pooled"/> has each picker's runs
/// pooled (round-robin first), <paramref name="Runs"/> every run in the order they ran.
/// </summary>
internal sealed record PoolLevel(string Level, double Rate, int Requests, int Rounds, IReadOnlyList<PickerRun> Pooled, IReadOnlyList<PickerRun> Runs);
