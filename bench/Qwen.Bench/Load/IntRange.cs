using System.Globalization;

namespace Qwen.Bench.Load;

/// <summary>A length distribution given on the command line: "64" (fixed) or "32-128" (uniform, both ends included).</summary>
internal readonly record struct IntRange(int Min, int Max)
{
    public static IntRange Parse(string text)
    {
        var parts = text.Split('-', 2);
        var min = int.Parse(parts[0], CultureInfo.InvariantCulture);
        var max = parts.Length == 2 ? int.Parse(parts[1], CultureInfo.InvariantCulture) : min;
        if (min < 1 || max < min)
        {
            throw new ArgumentOutOfRangeException(nameof(text), $"a length range must be N or MIN-MAX with 1 <= MIN <= MAX (given '{text}')");
        }
        return new IntRange(min, max);
    }

    public int Draw(Random random) => random.Next(Min, Max + 1);

    public override string ToString() => Min == Max ? Min.ToString(CultureInfo.InvariantCulture) : $"{Min}-{Max}";
}
