using Qwen.Server.Hosting;

namespace Qwen.Server.Tests.Hosting;

/// <summary>The edit distance against the textbook recursive definition, and the nearest flag for the typos.</summary>
public sealed class NearestNameTests
{
    [Fact]
    public void Distance_RandomPairs_MatchesTheRecursiveDefinition()
    {
        var random = new Random(14);
        for (var n = 0; n < 500; n++)
        {
            var a = Word(random);
            var b = Word(random);
            Assert.True(Reference(a, b) == NearestName.Distance(a, b), $"'{a}' -> '{b}'");
        }
    }

    [Theory]
    [InlineData("--modle", "--model")]
    [InlineData("--max-num-seq", "--max-num-seqs")]
    [InlineData("--MAX-MODEL-LEN", "--max-model-len")]
    [InlineData("--api-key", "--api-keys")]
    public void Find_Typo_IsTheIntendedFlag(string given, string expected)
        => Assert.Equal(expected, NearestName.Find(given, ServerOptions.Settings.Select(s => s.Flag)));

    private static string Word(Random random) => new([.. Enumerable.Range(0, random.Next(0, 7)).Select(_ => "abc-"[random.Next(4)])]);

    // Levenshtein's definition as written: the cheapest of deleting, inserting or substituting the first character.
    private static int Reference(string a, string b)
    {
        if (a.Length == 0)
        {
            return b.Length;
        }
        if (b.Length == 0)
        {
            return a.Length;
        }
        if (a[0] == b[0])
        {
            return Reference(a[1..], b[1..]);
        }
        return 1 + Math.Min(Reference(a[1..], b), Math.Min(Reference(a, b[1..]), Reference(a[1..], b[1..])));
    }
}
