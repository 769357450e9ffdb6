using System.Globalization;
using System.Text;

namespace Qwen.Bench.Load;

/// <summary>A small hand-written SVG: output tokens/s and p50/p90 inter-token latency against the load level.</summary>
internal static class SvgChart
{
    public static string Render(IReadOnlyList<LevelSummary> levels, string title)
    {
        const int w = 640, h = 360, left = 60, right = 60, top = 40, bottom = 50;
        var inv = CultureInfo.InvariantCulture;
        var maxTps = Math.Max(1, levels.Max(l => l.OutputTokensPerSecond)) * 1.1;
        var maxItl = Math.Max(1, levels.Max(l => double.IsNaN(l.ItlP90) ? 0 : l.ItlP90)) * 1.1;
        double X(int i) => left + ((w - left - right) * (levels.Count == 1 ? 0.5 : i / (double)(levels.Count - 1)));
        double Y(double v, double max) => top + ((h - top - bottom) * (1 - (v / max)));
        string Line(Func<LevelSummary, double> f, double max, string color, string dash = "")
            => $"<polyline fill=\"none\" stroke=\"{color}\" stroke-width=\"2\" {dash} points=\"{string.Join(' ', levels.Select((l, i) => string.Create(inv, $"{X(i):F1},{Y(double.IsNaN(f(l)) ? 0 : f(l), max):F1}")))}\"/>";
        var sb = new StringBuilder();
        sb.Append(inv, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" font-family=\"sans-serif\" font-size=\"12\">");
        sb.Append(inv, $"<rect width=\"{w}\" height=\"{h}\" fill=\"white\"/><text x=\"{w / 2}\" y=\"20\" text-anchor=\"middle\" font-size=\"14\">{title}</text>");
        sb.Append(inv, $"<line x1=\"{left}\" y1=\"{h - bottom}\" x2=\"{w - right}\" y2=\"{h - bottom}\" stroke=\"black\"/><line x1=\"{left}\" y1=\"{top}\" x2=\"{left}\" y2=\"{h - bottom}\" stroke=\"black\"/><line x1=\"{w - right}\" y1=\"{top}\" x2=\"{w - right}\" y2=\"{h - bottom}\" stroke=\"black\"/>");
        for (var i = 0; i < levels.Count; i++)
        {
            sb.Append(inv, $"<text x=\"{X(i):F1}\" y=\"{h - bottom + 18}\" text-anchor=\"middle\">{levels[i].Level}</text>");
        }
        for (var k = 0; k <= 4; k++)
        {
            sb.Append(inv, $"<text x=\"{left - 6}\" y=\"{Y(maxTps * k / 4, maxTps) + 4:F1}\" text-anchor=\"end\" fill=\"#1f77b4\">{maxTps * k / 4:F0}</text>");
            sb.Append(inv, $"<text x=\"{w - right + 6}\" y=\"{Y(maxItl * k / 4, maxItl) + 4:F1}\" fill=\"#d62728\">{maxItl * k / 4:F0}</text>");
        }
        sb.Append(Line(l => l.OutputTokensPerSecond, maxTps, "#1f77b4"));
        sb.Append(Line(l => l.ItlP50, maxItl, "#d62728"));
        sb.Append(Line(l => l.ItlP90, maxItl, "#d62728", "stroke-dasharray=\"4 3\""));
        sb.Append(inv, $"<text x=\"{w / 2}\" y=\"{h - 12}\" text-anchor=\"middle\">concurrency</text>");
        sb.Append(inv, $"<text x=\"{left + 8}\" y=\"{top + 14}\" fill=\"#1f77b4\">output tokens/s (left)</text><text x=\"{left + 8}\" y=\"{top + 30}\" fill=\"#d62728\">inter-token latency p50 / p90 dashed, ms (right)</text>");
        return sb.Append("</svg>").ToString();
    }
}
