namespace Qwen.Server.Hosting;

/// <summary>The known name closest to a mistyped one by edit distance, for "unknown flag --modle; did you mean --model?".</summary>
internal static class NearestName
{
    /// <summary>The name in <paramref name="known"/> fewest edits away from <paramref name="given"/> (case-insensitive; the first on a tie).</summary>
    public static string Find(string given, IEnumerable<string> known)
        => known.MinBy(k => Distance(given.ToLowerInvariant(), k.ToLowerInvariant())) ?? throw new ArgumentException("no known names", nameof(known));

    /// <summary>Levenshtein distance: the fewest single-character insertions, deletions and substitutions from <paramref name="a"/> to <paramref name="b"/>.</summary>
    public static int Distance(string a, string b)
    {
        // One row of the dynamic-programming table: row[j] is the distance from a[..i] to b[..j].
        var row = new int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++)
        {
            row[j] = j;
        }
        for (var i = 1; i <= a.Length; i++)
        {
            var diagonal = row[0];
            row[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                var above = row[j];
                row[j] = Math.Min(Math.Min(above + 1, row[j - 1] + 1), diagonal + (a[i - 1] == b[j - 1] ? 0 : 1));
                diagonal = above;
            }
        }
        return row[b.Length];
    }
}
