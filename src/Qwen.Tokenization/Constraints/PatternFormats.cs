namespace Qwen.Tokenization.Constraints;

/// <summary>
/// The JSON Schema <c>format</c> values with a pattern, each written in the syntax <see cref="PatternAutomaton"/>
/// compiles. They check syntax only: a date's day is 01–31 whatever the month (2024-02-30 passes), a leap second
/// (:60) is allowed at any minute, an email is a simple subset of RFC 5321, and no hostname length limit applies
/// beyond 63 characters per label.
/// </summary>
internal static class PatternFormats
{
    // RFC 3339 full-date: month 01-12, day 01-31 (the month-specific maximum is not checked).
    private const string Date = @"\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])";

    // RFC 3339 full-time: hh:mm:ss, seconds up to 60 (leap second), optional fraction, then Z or a numeric offset;
    // "T" and "Z" may be lower case (RFC 3339 section 5.6, note).
    private const string Time = @"(?:[01]\d|2[0-3]):[0-5]\d:(?:[0-5]\d|60)(?:\.\d+)?(?:[Zz]|[+-](?:[01]\d|2[0-3]):[0-5]\d)";

    // RFC 1123 labels: letters, digits and inner hyphens, 1-63 characters.
    private const string Label = @"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?";

    // dot-atom local part (RFC 5322 atext, no quoted strings, no comments) @ a hostname with at least two labels
    // (no IP literals, no internationalized names).
    private const string Email = @"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@" + Label + @"(?:\." + Label + ")+";

    // Dotted decimal without leading zeros (JSON Schema 2020-12 forbids them: they read as octal in some parsers).
    private const string Octet = @"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)";

    /// <summary>The anchored pattern of each supported format.</summary>
    public static IReadOnlyDictionary<string, string> Patterns { get; } = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["date"] = "^" + Date + "$",
        ["time"] = "^" + Time + "$",
        ["date-time"] = "^" + Date + "[Tt]" + Time + "$",
        ["uuid"] = "^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$",
        ["email"] = "^" + Email + "$",
        ["ipv4"] = "^" + Octet + @"(?:\." + Octet + "){3}$",
        ["hostname"] = "^" + Label + @"(?:\." + Label + ")*$",
    };
}
