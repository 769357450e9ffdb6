using System.Globalization;
using System.Text;

namespace Qwen.Bench.Pool;

/// <summary>
/// Reads the Prometheus text exposition format (version 0.0.4) as a scraper does: <c># HELP</c>, <c># TYPE</c> and other
/// comment lines are skipped; a sample is <c>name{label="value",...} value [timestamp]</c>, the labels optional, label
/// values with the escapes <c>\\</c>, <c>\"</c> and <c>\n</c>; the value is a float in Go's syntax (exponents,
/// <c>NaN</c>, <c>+Inf</c>, <c>-Inf</c>). A line that is none of these throws <see cref="FormatException"/>: a picker must
/// not route on a half-read scrape.
/// </summary>
internal static class PrometheusText
{
    /// <summary>Every sample of <paramref name="text"/>, in order.</summary>
    public static IReadOnlyList<PrometheusSample> Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var samples = new List<PrometheusSample>();
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.Trim();
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }
            samples.Add(ParseSample(line));
        }
        return samples;
    }

    /// <summary>
    /// The value of the unlabelled series <paramref name="name"/> (a gauge such as <c>qwen_requests_waiting</c>), or, when it
    /// only comes with labels, the sum over its series; null when <paramref name="samples"/> have no such metric.
    /// </summary>
    public static double? Value(IReadOnlyList<PrometheusSample> samples, string name)
    {
        ArgumentNullException.ThrowIfNull(samples);
        double? sum = null;
        foreach (var s in samples)
        {
            if (s.Name == name)
            {
                if (s.Labels.Count == 0)
                {
                    return s.Value;
                }
                sum = (sum ?? 0) + s.Value;
            }
        }
        return sum;
    }

    private static PrometheusSample ParseSample(string line)
    {
        var i = 0;
        while (i < line.Length && line[i] is not ('{' or ' ' or '\t'))
        {
            i++;
        }
        var name = line[..i];
        if (name.Length == 0)
        {
            throw new FormatException($"a Prometheus sample must start with a metric name (given '{line}')");
        }
        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        if (i < line.Length && line[i] == '{')
        {
            i = ParseLabels(line, i + 1, labels);
        }
        // The value, then an optional timestamp in milliseconds, which a gauge's reader has no use for.
        var rest = line[i..].Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
        if (rest.Length is < 1 or > 2)
        {
            throw new FormatException($"a Prometheus sample needs a value and at most a timestamp after its name (given '{line}')");
        }
        return new PrometheusSample(name, labels, ParseValue(rest[0], line));
    }

    /// <summary>Reads <c>a="x",b="y"}</c> from <paramref name="i"/> into <paramref name="labels"/>; returns the index after the <c>}</c>.</summary>
    private static int ParseLabels(string line, int i, Dictionary<string, string> labels)
    {
        while (true)
        {
            while (i < line.Length && line[i] is ' ' or ',')
            {
                i++;
            }
            if (i < line.Length && line[i] == '}')
            {
                return i + 1;
            }
            var eq = line.IndexOf('=', i);
            if (eq < 0 || eq + 1 >= line.Length || line[eq + 1] != '"')
            {
                throw new FormatException($"a Prometheus label must read name=\"value\" (given '{line}')");
            }
            var key = line[i..eq].Trim();
            var value = new StringBuilder();
            i = eq + 2;
            for (; i < line.Length && line[i] != '"'; i++)
            {
                if (line[i] == '\\' && i + 1 < line.Length)
                {
                    i++;
                    value.Append(line[i] == 'n' ? '\n' : line[i]);
                }
                else
                {
                    value.Append(line[i]);
                }
            }
            if (i >= line.Length)
            {
                throw new FormatException($"a Prometheus label value must end with a quote (given '{line}')");
            }
            labels[key] = value.ToString();
            i++;
        }
    }

    private static double ParseValue(string text, string line) => text switch
    {
        "NaN" => double.NaN,
        "+Inf" or "Inf" => double.PositiveInfinity,
        "-Inf" => double.NegativeInfinity,
        _ => double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v
            : throw new FormatException($"a Prometheus sample value must be a float, NaN, +Inf or -Inf (given '{text}' in '{line}')"),
    };
}
