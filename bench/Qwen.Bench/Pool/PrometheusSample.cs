namespace Qwen.Bench.Pool;

/// <summary>One sample line of the Prometheus text format: the metric name, its labels (empty when it has none) and its value.</summary>
internal sealed record PrometheusSample(string Name, IReadOnlyDictionary<string, string> Labels, double Value);
