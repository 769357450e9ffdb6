namespace Qwen.Bench;

/// <summary>Mean, median and worst of one kind of full scan, in µs per token.</summary>
internal sealed record ScanFigures(double Mean, double Median, double Worst)
{
    public static ScanFigures Of(List<double> us) => new(us.Average(), us.Order().ElementAt(us.Count / 2), us.Max());
}
