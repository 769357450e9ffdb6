namespace Qwen.Bench;

/// <summary>The little statistics the benchmarks share.</summary>
internal static class Statistics
{
    /// <summary>A standard normal draw (Box-Muller).</summary>
    public static double Gaussian(Random random) => Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());

    /// <summary>The median: the middle value, or the mean of the middle two.</summary>
    public static double Median(IEnumerable<double> values)
    {
        var s = values.Order().ToList();
        return s.Count % 2 == 1 ? s[s.Count / 2] : (s[(s.Count / 2) - 1] + s[s.Count / 2]) / 2;
    }
}
