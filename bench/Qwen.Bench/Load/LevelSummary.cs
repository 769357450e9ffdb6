namespace Qwen.Bench.Load;

/// <summary>
/// The figures of one load level (a concurrency or a request rate). Percentiles are nearest-rank over the successful
/// requests (TTFT, E2E: one sample per request; ITL: one sample per token gap), in milliseconds; the *Samples counts say
/// how many values each rests on (a p99 over fewer than 100 samples is the largest one).
/// </summary>
internal sealed record LevelSummary(string Level, double Load, int Requests, int Succeeded, double Seconds, double RequestsPerSecond, double OutputTokensPerSecond,
    int TtftSamples, double TtftP50, double TtftP90, double TtftP99,
    int ItlSamples, double ItlP50, double ItlP90, double ItlP99,
    int E2eSamples, double E2eP50, double E2eP90, double E2eP99,
    double UnattributedTokenShare, IReadOnlyDictionary<string, int> Errors)
{
    public static LevelSummary From(string level, double load, IReadOnlyList<StreamResult> results, double seconds)
    {
        var ok = results.Where(r => r.Error is null).ToList();
        var ttft = Sorted(ok.Where(r => r.Ttft is not null).Select(r => r.Ttft!.Value));
        var itl = Sorted(ok.SelectMany(r => r.InterToken));
        var e2e = Sorted(ok.Select(r => r.EndToEnd));
        var tokens = ok.Sum(r => r.OutputTokens);
        return new LevelSummary(level, load, results.Count, ok.Count, seconds, ok.Count / seconds, tokens / seconds,
            ttft.Length, P(ttft, .5), P(ttft, .9), P(ttft, .99),
            itl.Length, P(itl, .5), P(itl, .9), P(itl, .99),
            e2e.Length, P(e2e, .5), P(e2e, .9), P(e2e, .99),
            tokens == 0 ? 0 : ok.Sum(r => r.UnattributedTokens) / (double)tokens,
            results.Where(r => r.Error is not null).GroupBy(r => r.Error!).OrderBy(g => g.Key, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count()));
    }

    /// <summary>Nearest-rank percentile of sorted seconds, in milliseconds (NaN when there is no sample).</summary>
    public static double P(double[] sorted, double q)
    {
        ArgumentNullException.ThrowIfNull(sorted);
        return sorted.Length == 0 ? double.NaN : sorted[Math.Clamp((int)Math.Ceiling(q * sorted.Length) - 1, 0, sorted.Length - 1)] * 1000;
    }

    private static double[] Sorted(IEnumerable<double> values)
    {
        var a = values.ToArray();
        Array.Sort(a);
        return a;
    }
}
