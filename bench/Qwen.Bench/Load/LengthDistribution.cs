using System.Globalization;

namespace Qwen.Bench.Load;

/// <summary>
/// A length distribution (prompt or output tokens) given on the command line:
/// <c>64</c> fixed; <c>32-128</c> uniform, both ends included; <c>normal:MEAN,SD[,MAX]</c>;
/// <c>lognormal:MEAN,SD[,MAX]</c> (MEAN and SD of the lengths themselves, not of their logarithm: a long right tail,
/// the usual shape of real prompt and answer lengths); <c>exp:MEAN[,MAX]</c> (exponential). Draws are rounded and
/// clipped to [1, MAX] (MAX defaults to no upper clip).
/// </summary>
internal sealed record LengthDistribution(string Kind, double A, double B, int Max, string Text)
{
    public static LengthDistribution Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var colon = text.IndexOf(':', StringComparison.Ordinal);
        if (colon < 0)
        {
            var parts = text.Split('-', 2);
            var min = int.Parse(parts[0], CultureInfo.InvariantCulture);
            var max = parts.Length == 2 ? int.Parse(parts[1], CultureInfo.InvariantCulture) : min;
            if (min < 1 || max < min)
            {
                throw new ArgumentOutOfRangeException(nameof(text), $"a length must be N, MIN-MAX with 1 <= MIN <= MAX, normal:MEAN,SD[,MAX], lognormal:MEAN,SD[,MAX] or exp:MEAN[,MAX] (given '{text}')");
            }
            return new LengthDistribution(min == max ? "fixed" : "uniform", min, max, max, text);
        }
        var kind = text[..colon];
        var args = text[(colon + 1)..].Split(',').Select(s => double.Parse(s, CultureInfo.InvariantCulture)).ToArray();
        var (need, sd) = kind switch
        {
            "normal" or "lognormal" => (2, args.ElementAtOrDefault(1)),
            "exp" => (1, 0.0),
            _ => throw new ArgumentOutOfRangeException(nameof(text), $"unknown length distribution '{kind}' (expected normal, lognormal or exp; given '{text}')"),
        };
        if (args.Length < need || args.Length > need + 1 || args[0] < 1 || sd < 0 || (args.Length > need && args[need] < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(text), $"'{kind}' takes MEAN >= 1{(need == 2 ? ", SD >= 0" : "")} and an optional MAX >= 1 (given '{text}')");
        }
        return new LengthDistribution(kind, args[0], sd, args.Length > need ? (int)args[need] : int.MaxValue, text);
    }

    /// <summary>A length a single-value measurement uses (the HTTP overhead run): the largest for fixed and uniform, else the mean.</summary>
    public int Typical => Kind is "fixed" or "uniform" ? (int)B : Math.Min(Max, (int)Math.Round(A));

    public int Draw(Random random)
    {
        ArgumentNullException.ThrowIfNull(random);
        double value;
        switch (Kind)
        {
            case "fixed":
                return (int)A;
            case "uniform":
                return random.Next((int)A, (int)B + 1);
            case "normal":
                value = A + (B * Statistics.Gaussian(random));
                break;
            case "lognormal":
                // Lengths with mean m and standard deviation s: log-length ~ N(mu, sigma^2) with sigma^2 = ln(1 + s^2/m^2), mu = ln m - sigma^2/2.
                var sigma2 = Math.Log(1 + (B * B / (A * A)));
                value = Math.Exp(Math.Log(A) - (sigma2 / 2) + (Math.Sqrt(sigma2) * Statistics.Gaussian(random)));
                break;
            default:
                value = -A * Math.Log(1 - random.NextDouble());
                break;
        }
        return (int)Math.Clamp(Math.Round(value), 1, Max);
    }

    public override string ToString() => Text;

    /// <summary>A standard normal draw (Box-Muller).</summary>
}
