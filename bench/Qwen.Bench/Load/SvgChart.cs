using System.Globalization;
using System.Net;
using System.Text;

namespace Qwen.Bench.Load;

/// <summary>
/// A small hand-written SVG of latency and throughput against load: four panels (output tokens/s; time to first token,
/// inter-token latency and end-to-end latency, each p50 solid and p99 dashed), the load levels evenly spaced on the
/// x-axis, which is labelled after the mode (concurrency or request rate).
/// </summary>
internal static class SvgChart
{
    private const int PanelWidth = 460, PanelHeight = 300, Left = 70, Right = 20, Top = 46, Bottom = 52;
    private const string P50 = "#1f77b4", P99 = "#d62728", Throughput = "#2ca02c";

    public static string Render(IReadOnlyList<LevelSummary> levels, string title, string xLabel)
    {
        ArgumentNullException.ThrowIfNull(levels);
        var sb = new StringBuilder();
        var inv = CultureInfo.InvariantCulture;
        const int width = 2 * PanelWidth, height = (2 * PanelHeight) + 40;
        sb.Append(inv, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" font-family=\"sans-serif\" font-size=\"12\">");
        sb.Append(inv, $"<rect width=\"{width}\" height=\"{height}\" fill=\"white\"/><text x=\"{width / 2}\" y=\"24\" text-anchor=\"middle\" font-size=\"15\">{Escape(title)}</text>");
        Panel(sb, levels, 0, 40, "Output throughput", "output tokens/s", xLabel, [("output tokens/s", Throughput, "", l => l.OutputTokensPerSecond)]);
        Panel(sb, levels, PanelWidth, 40, "Time to first token", "TTFT, ms", xLabel, [("p50", P50, "", l => l.TtftP50), ("p99", P99, "6 4", l => l.TtftP99)]);
        Panel(sb, levels, 0, 40 + PanelHeight, "Inter-token latency (per token)", "ITL, ms", xLabel, [("p50", P50, "", l => l.ItlP50), ("p99", P99, "6 4", l => l.ItlP99)]);
        Panel(sb, levels, PanelWidth, 40 + PanelHeight, "End-to-end latency", "E2E, ms", xLabel, [("p50", P50, "", l => l.E2eP50), ("p99", P99, "6 4", l => l.E2eP99)]);
        return sb.Append("</svg>").ToString();
    }

    private static void Panel(StringBuilder sb, IReadOnlyList<LevelSummary> levels, int x0, int y0, string title, string yLabel, string xLabel,
        (string Name, string Color, string Dash, Func<LevelSummary, double> Value)[] series)
    {
        var inv = CultureInfo.InvariantCulture;
        double left = x0 + Left, right = x0 + PanelWidth - Right, top = y0 + Top, bottom = y0 + PanelHeight - Bottom;
        var max = NiceCeiling(series.SelectMany(s => levels.Select(s.Value)).Where(double.IsFinite).DefaultIfEmpty(1).Max());
        double X(int i) => left + ((right - left) * (levels.Count == 1 ? 0.5 : (0.05 + (0.9 * i / (levels.Count - 1)))));
        double Y(double v) => bottom - ((bottom - top) * v / max);

        sb.Append(inv, $"<text x=\"{(left + right) / 2:F0}\" y=\"{y0 + 24}\" text-anchor=\"middle\" font-size=\"13\" font-weight=\"bold\">{Escape(title)}</text>");
        for (var k = 0; k <= 4; k++)
        {
            var v = max * k / 4;
            sb.Append(inv, $"<line x1=\"{left:F0}\" y1=\"{Y(v):F1}\" x2=\"{right:F0}\" y2=\"{Y(v):F1}\" stroke=\"#e0e0e0\"/>");
            sb.Append(inv, $"<text x=\"{left - 6:F0}\" y=\"{Y(v) + 4:F1}\" text-anchor=\"end\">{Tick(v)}</text>");
        }
        sb.Append(inv, $"<rect x=\"{left:F0}\" y=\"{top:F0}\" width=\"{right - left:F0}\" height=\"{bottom - top:F0}\" fill=\"none\" stroke=\"black\"/>");
        for (var i = 0; i < levels.Count; i++)
        {
            sb.Append(inv, $"<line x1=\"{X(i):F1}\" y1=\"{bottom:F0}\" x2=\"{X(i):F1}\" y2=\"{bottom + 4:F0}\" stroke=\"black\"/>");
            sb.Append(inv, $"<text x=\"{X(i):F1}\" y=\"{bottom + 17:F0}\" text-anchor=\"middle\">{Escape(levels[i].Level)}</text>");
        }
        sb.Append(inv, $"<text x=\"{(left + right) / 2:F0}\" y=\"{bottom + 36:F0}\" text-anchor=\"middle\">{Escape(xLabel)}</text>");
        sb.Append(inv, $"<text transform=\"translate({x0 + 16},{(top + bottom) / 2:F0}) rotate(-90)\" text-anchor=\"middle\">{Escape(yLabel)}</text>");

        var legendX = left + 10;
        foreach (var (name, color, dash, value) in series)
        {
            var dashAttr = dash.Length > 0 ? $" stroke-dasharray=\"{dash}\"" : "";
            // A level without samples (NaN) breaks the line instead of dropping it to zero.
            foreach (var run in Runs(levels, value))
            {
                var points = string.Join(' ', run.Select(i => string.Create(inv, $"{X(i):F1},{Y(value(levels[i])):F1}")));
                sb.Append(inv, $"<polyline fill=\"none\" stroke=\"{color}\" stroke-width=\"2\"{dashAttr} points=\"{points}\"/>");
                foreach (var i in run)
                {
                    sb.Append(inv, $"<circle cx=\"{X(i):F1}\" cy=\"{Y(value(levels[i])):F1}\" r=\"3\" fill=\"{color}\"/>");
                }
            }
            sb.Append(inv, $"<line x1=\"{legendX:F0}\" y1=\"{top + 14:F0}\" x2=\"{legendX + 24:F0}\" y2=\"{top + 14:F0}\" stroke=\"{color}\" stroke-width=\"2\"{dashAttr}/>");
            sb.Append(inv, $"<text x=\"{legendX + 30:F0}\" y=\"{top + 18:F0}\">{Escape(name)}</text>");
            legendX += 50 + (7 * name.Length);
        }
    }

    /// <summary>Index runs of consecutive levels whose value is finite.</summary>
    private static IEnumerable<List<int>> Runs(IReadOnlyList<LevelSummary> levels, Func<LevelSummary, double> value)
    {
        var run = new List<int>();
        for (var i = 0; i < levels.Count; i++)
        {
            if (double.IsFinite(value(levels[i])))
            {
                run.Add(i);
                continue;
            }
            if (run.Count > 0)
            {
                yield return run;
            }
            run = [];
        }
        if (run.Count > 0)
        {
            yield return run;
        }
    }

    /// <summary>The smallest 1, 2, 4 or 8 times a power of ten at or above 1.1 × <paramref name="v"/>: round tick values.</summary>
    private static double NiceCeiling(double v)
    {
        v = Math.Max(v * 1.1, 1e-9);
        var p = Math.Pow(10, Math.Floor(Math.Log10(v)));
        return new[] { 1, 2, 4, 8, 10 }.Select(m => m * p).First(c => c >= v);
    }

    private static string Tick(double v) => v.ToString(Math.Abs(v - Math.Round(v)) < 1e-9 ? "F0" : "G3", CultureInfo.InvariantCulture);

    private static string Escape(string s) => WebUtility.HtmlEncode(s);
}
