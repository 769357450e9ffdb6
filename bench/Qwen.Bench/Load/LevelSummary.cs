namespace Qwen.Bench.Load;

/// <summary>The figures of one load level (concurrency or rate).</summary>
internal sealed record LevelSummary(string Level, int Requests, double Seconds, double RequestsPerSecond, double OutputTokensPerSecond,
    double TtftP50, double TtftP90, double TtftP99, double ItlP50, double ItlP90, double ItlP99, double E2eP50, double E2eP90, double E2eP99,
    IReadOnlyDictionary<string, int> Errors)
{
    public static LevelSummary From(string level, IReadOnlyList<StreamResult> results, double seconds)
    {
        static double P(IEnumerable<double> values, double q)
        {
            var sorted = values.OrderBy(v => v).ToArray();
            return sorted.Length == 0 ? double.NaN : sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(q * sorted.Length) - 1)] * 1000;
        }
        var ok = results.Where(r => r.Error is null).ToList();
        var ttft = ok.Where(r => r.Ttft is not null).Select(r => r.Ttft!.Value).ToList();
        var itl = ok.SelectMany(r => r.InterToken).ToList();
        var e2e = ok.Select(r => r.EndToEnd).ToList();
        return new LevelSummary(level, results.Count, seconds, ok.Count / seconds, ok.Sum(r => r.OutputTokens) / seconds,
            P(ttft, .5), P(ttft, .9), P(ttft, .99), P(itl, .5), P(itl, .9), P(itl, .99), P(e2e, .5), P(e2e, .9), P(e2e, .99),
            results.Where(r => r.Error is not null).GroupBy(r => r.Error!).ToDictionary(g => g.Key, g => g.Count()));
    }
}
