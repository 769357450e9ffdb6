using System.Globalization;
using System.Text.RegularExpressions;

namespace Qwen.Server.Hosting;

/// <summary>
/// Parses memory sizes as operators write them: <c>2GiB</c>, <c>512MiB</c>, <c>1.5GiB</c>, <c>2Gi</c> (binary, as Kubernetes
/// writes them), <c>4GB</c> (decimal), or plain bytes <c>1073741824</c>. Units are case-insensitive; a space may separate them.
/// </summary>
public static partial class ByteSize
{
    private static readonly Dictionary<string, decimal> Units = new(StringComparer.OrdinalIgnoreCase)
    {
        [""] = 1,
        ["B"] = 1,
        ["KiB"] = 1L << 10,
        ["MiB"] = 1L << 20,
        ["GiB"] = 1L << 30,
        ["TiB"] = 1L << 40,
        ["Ki"] = 1L << 10,
        ["Mi"] = 1L << 20,
        ["Gi"] = 1L << 30,
        ["Ti"] = 1L << 40,
        ["KB"] = 1_000,
        ["MB"] = 1_000_000,
        ["GB"] = 1_000_000_000,
        ["TB"] = 1_000_000_000_000,
    };

    /// <summary>The units accepted, for messages.</summary>
    public const string Accepted = "bytes, or a number with B, KiB, MiB, GiB, TiB (also Ki, Mi, Gi, Ti) or KB, MB, GB, TB, e.g. 2GiB";

    /// <summary>Parses <paramref name="text"/> into a whole number of bytes (fractions of a byte round down); false if malformed, not positive or too large.</summary>
    public static bool TryParse(string? text, out long bytes)
    {
        bytes = 0;
        var m = text is null ? Match.Empty : SizeRegex().Match(text);
        if (!m.Success || !Units.TryGetValue(m.Groups[2].Value, out var unit)
            || !decimal.TryParse(m.Groups[1].Value, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var number))
        {
            return false;
        }
        // Compare before multiplying: the product could overflow even decimal's 28 digits.
        if (number > long.MaxValue / unit)
        {
            return false;
        }
        var value = decimal.Floor(number * unit);
        if (value < 1 || value > long.MaxValue)
        {
            return false;
        }
        bytes = (long)value;
        return true;
    }

    [GeneratedRegex(@"^\s*([0-9]+(?:\.[0-9]+)?)\s*([A-Za-z]*)\s*$", RegexOptions.CultureInvariant)]
    private static partial Regex SizeRegex();
}
