namespace Qwen.Tokenization.Constraints.Schema;

/// <summary>
/// The numbers a number schema allows, as written: at most <see cref="MaxIntegerDigits"/> integer digits and
/// <see cref="MaxFractionDigits"/> fraction digits (so a weak model cannot write digits forever), between
/// <see cref="Low"/> and <see cref="High"/> on the grid of representable values (1 for integers, 1e-12 otherwise).
/// An exponent (at most <see cref="MaxExponentDigits"/> digits) is allowed only when the schema sets no bound.
/// <see cref="Reachable"/> decides whether a prefix can still end in range, which is what keeps numbers free of dead ends.
/// </summary>
internal sealed class NumberRange
{
    /// <summary>Integer digits at most: 15 keeps every value exact in a decimal and in a double.</summary>
    public const int MaxIntegerDigits = 15;

    /// <summary>Fraction digits at most (15 + 12 digits stay within decimal's 28).</summary>
    public const int MaxFractionDigits = 12;

    /// <summary>Exponent digits at most (a double's exponent has three).</summary>
    public const int MaxExponentDigits = 3;

    private static readonly decimal[] Pow10 = Enumerable.Range(0, 17).Select(i => Power(i)).ToArray();

    public NumberRange(bool integer, decimal low, decimal high, bool bounded)
    {
        Integer = integer;
        Low = low;
        High = high;
        Bounded = bounded;
    }

    /// <summary>Whether only integers are allowed (no fraction, no exponent).</summary>
    public bool Integer { get; }

    /// <summary>The smallest allowed value on the grid.</summary>
    public decimal Low { get; }

    /// <summary>The largest allowed value on the grid.</summary>
    public decimal High { get; }

    /// <summary>Whether the schema sets a bound (then no exponent).</summary>
    public bool Bounded { get; }

    /// <summary>The grid step: 1 for integers, 1e-12 for numbers.</summary>
    public decimal Step => Integer ? 1m : 1m / Pow10[MaxFractionDigits];

    /// <summary>The largest magnitude the digit bounds can write.</summary>
    public static decimal Limit(bool integer) => Pow10[MaxIntegerDigits] - (integer ? 1m : 1m / Pow10[MaxFractionDigits]);

    /// <summary>
    /// Whether some completion of the prefix ends in range: integer part <paramref name="intValue"/> of
    /// <paramref name="intDigits"/> digits (0 digits: nothing yet), then when <paramref name="dotted"/> a fraction
    /// <paramref name="fraction"/> of <paramref name="fractionDigits"/> digits.
    /// </summary>
    public bool Reachable(bool negative, long intValue, int intDigits, bool dotted, long fraction, int fractionDigits)
    {
        if (intDigits == 0)
        {
            for (var d = 0; d <= 9; d++)
            {
                if (Reachable(negative, d, 1, false, 0, 0))
                {
                    return true;
                }
            }
            return false;
        }
        var step = Step;
        decimal n = intValue;
        if (dotted)
        {
            var v = n + fraction / Pow10[fractionDigits];
            var width = fractionDigits < MaxFractionDigits ? 1m / Pow10[fractionDigits] - step : 0m;
            return Meets(negative, v, v + width);
        }
        if (intDigits == 1 && intValue == 0)
        {
            return Meets(negative, 0m, Integer ? 0m : 1m - step);
        }
        for (var more = 0; more <= MaxIntegerDigits - intDigits; more++)
        {
            if (Meets(negative, n * Pow10[more], (n + 1) * Pow10[more] - step))
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>Whether the complete number (integer part, optional fraction) is in range.</summary>
    public bool Contains(bool negative, long intValue, long fraction, int fractionDigits)
    {
        var v = intValue + (fractionDigits == 0 ? 0m : fraction / Pow10[fractionDigits]);
        v = negative ? -v : v;
        return v >= Low && v <= High;
    }

    /// <summary>Whether [a, b] (magnitudes, negated when <paramref name="negative"/>) meets [Low, High].</summary>
    private bool Meets(bool negative, decimal a, decimal b)
    {
        var (lo, hi) = negative ? (-b, -a) : (a, b);
        return Math.Max(lo, Low) <= Math.Min(hi, High);
    }

    private static decimal Power(int n)
    {
        var p = 1m;
        for (var i = 0; i < n; i++)
        {
            p *= 10;
        }
        return p;
    }
}
