using Qwen.Bench.Pool;

namespace Qwen.Bench.Tests.Pool;

public class QueueKvPickerTests
{
    /// <summary>
    /// The rule written out plainly, in exact integer arithmetic so that ties are ties: with queues q (min m, max M) and
    /// KV usage k/slots, score x (M - m) x slots / 2 = (M - m == 0 ? slots : (M - q) x slots) + (M - m == 0 ? 1 : M - m) x (slots - k).
    /// </summary>
    private static long[] ReferenceScores(int[] waiting, int[] used, int slots)
    {
        int min = int.MaxValue, max = int.MinValue;
        foreach (var q in waiting)
        {
            min = Math.Min(min, q);
            max = Math.Max(max, q);
        }
        var scores = new long[waiting.Length];
        for (var i = 0; i < waiting.Length; i++)
        {
            // 2 x queue + 2 x kv, both sides multiplied by (max - min) x slots / 2 (or by slots / 2 when all queues are equal).
            scores[i] = max == min ? slots + (slots - used[i]) : ((long)(max - waiting[i]) * slots) + ((long)(max - min) * (slots - used[i]));
        }
        return scores;
    }

    [Fact]
    public void Choose_RandomSnapshots_AlwaysPicksAMaximalReplicaAndSpreadsTies()
    {
        var rng = new Random(20);
        var tieBreak = new Random(1);
        var tiedSnapshots = 0;
        for (var trial = 0; trial < 2000; trial++)
        {
            var n = rng.Next(2, 6);
            var slots = new[] { 2, 4, 8 }[rng.Next(3)];
            var waiting = Enumerable.Range(0, n).Select(_ => rng.Next(0, 4) * rng.Next(0, 2)).ToArray(); // many zeros, as in a pool that keeps up
            var used = Enumerable.Range(0, n).Select(_ => rng.Next(0, slots + 1)).ToArray();
            var snapshot = Enumerable.Range(0, n).Select(i => new ReplicaMetrics(waiting[i], used[i], (double)used[i] / slots, 0)).ToArray();
            var reference = ReferenceScores(waiting, used, slots);
            var maximal = Enumerable.Range(0, n).Where(i => reference[i] == reference.Max()).ToHashSet();

            var chosen = new HashSet<int>();
            for (var k = 0; k < 40 * maximal.Count; k++)
            {
                var pick = QueueKvPicker.Choose(snapshot, tieBreak);
                Assert.True(maximal.Contains(pick), $"trial {trial}: picked {pick}, maximal are {string.Join(',', maximal)} (waiting {string.Join(',', waiting)}, used {string.Join(',', used)} of {slots})");
                chosen.Add(pick);
            }
            // With 40 draws per tied replica, missing one of them has probability below 5 x (4/5)^160.
            Assert.Equal(maximal, chosen);
            tiedSnapshots += maximal.Count > 1 ? 1 : 0;
        }
        Assert.InRange(tiedSnapshots, 100, 1900); // the snapshots exercised both unique maxima and ties
    }

    [Fact]
    public void Choose_AllTied_SpreadsPicksEvenly()
    {
        var idle = Enumerable.Range(0, 4).Select(_ => new ReplicaMetrics(0, 0, 0, 0)).ToArray();
        var random = new Random(3);
        var counts = new int[4];

        for (var k = 0; k < 4000; k++)
        {
            counts[QueueKvPicker.Choose(idle, random)]++;
        }

        // Uniform: 1000 each, standard deviation about 27; 150 is more than 5 of them.
        Assert.All(counts, c => Assert.InRange(c, 850, 1150));
    }

    [Theory]
    [InlineData(new[] { 0, 0, 3 }, new[] { 2, 1, 0 }, 1)] // equal shortest queues: the emptier KV cache wins
    [InlineData(new[] { 1, 0, 0 }, new[] { 0, 2, 2 }, 1)] // 2 x (0 + 1) = 2 x (1 + 0): all three tie at 2
    [InlineData(new[] { 4, 2, 0 }, new[] { 2, 2, 2 }, 2)] // full caches everywhere: the shortest queue wins
    public void Choose_WorkedExamples_MatchTheRule(int[] waiting, int[] used, int expected)
    {
        var snapshot = waiting.Select((q, i) => new ReplicaMetrics(q, used[i], used[i] / 2.0, 0)).ToArray();
        var scores = QueueKvPicker.Scores(snapshot);

        Assert.Equal(scores.Max(), scores[expected]);
        Assert.Contains(expected, Enumerable.Range(0, 50).Select(s => QueueKvPicker.Choose(snapshot, new Random(s))));
    }

    [Fact]
    public void Pick_ReadsTheSnapshotAtEachPick()
    {
        var snapshot = new[] { new ReplicaMetrics(0, 2, 1, 0), new ReplicaMetrics(0, 0, 0, 0) };
        var picker = new QueueKvPicker(() => snapshot, new Random(1));

        var first = picker.Pick();
        snapshot = [new ReplicaMetrics(0, 0, 0, 0), new ReplicaMetrics(3, 2, 1, 0)];
        var second = picker.Pick();

        Assert.Equal((1, 0), (first, second));
    }
}
