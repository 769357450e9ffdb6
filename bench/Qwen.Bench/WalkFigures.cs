namespace Qwen.Bench;

/// <summary>One grammar's figures from <see cref="GrammarBench"/>'s walks, in µs per token.</summary>
internal sealed record WalkFigures(int Count, double Cold, double Warm, double FastMedian, double FastWorst, ScanFigures Scan, ScanFigures Fill);
