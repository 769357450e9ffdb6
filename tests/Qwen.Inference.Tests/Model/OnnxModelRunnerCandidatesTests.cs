using Qwen.Inference.Engine;
using Qwen.Inference.Model;
using Qwen.Inference.Tests.Engine;

namespace Qwen.Inference.Tests.Model;

/// <summary>
/// The runner's candidates against an identical runner's full logits: every decode row's K candidates equal a naive top K of
/// the full row (ids exact, values bit for bit, equal values lower id first), its log-sum-exp equals one computed in double,
/// and the rows listed up front or read afterwards equal the full rows bit for bit; also in copy-at-bind mode, where full
/// rows are read through the candidates graph as on CUDA.
/// </summary>
public sealed class OnnxModelRunnerCandidatesTests
{
    private static readonly EngineOptions Options = new() { MaxNumSeqs = 3, MaxModelLen = 64, IntraOpThreads = 1 };

    /// <summary>Each decode step: batch size, rows listed up front, rows read afterwards.</summary>
    private static readonly (int Batch, int[] Listed, int[] ReadAfter)[] Steps =
    [
        (3, [], [2, 0]),
        (3, [1], []),
        (2, [0, 1], [1]),
        (3, [2, 0, 1], [0, 1, 2]),
        (1, [], [0]),
        (3, [0], [2]),
    ];

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void DecodeCandidates_EveryRow_MatchesNaiveTopKOfTheFullLogits(bool copyInputsAtBind)
    {
        using var runner = OnnxModelRunner.Create(EngineBatchingTests.TinyModel, Options with { CopyInputsAtBind = copyInputsAtBind, SampleFromCandidates = true });
        using var full = OnnxModelRunner.Create(EngineBatchingTests.TinyModel, Options with { SampleFromCandidates = false });
        Assert.Equal(0, full.CandidateCount);
        var k = runner.CandidateCount;
        Assert.Equal(64, k);
        var v = runner.VocabSize;
        var pasts = new int[3];
        var prefill = new float[v];
        for (var slot = 0; slot < 3; slot++)
        {
            var prompt = EngineBatchingTests.Prompt(30 + slot, 4 + (3 * slot));
            runner.Prefill(slot, prompt, 0, prefill);
            full.Prefill(slot, prompt, 0, prefill);
            pasts[slot] = prompt.Length;
        }
        var feed = new Random(11);
        var checkedRows = 0;
        foreach (var (b, listed, readAfter) in Steps)
        {
            var tokens = Enumerable.Range(0, b).Select(_ => feed.Next(0, 151643)).ToArray();
            var expected = new float[b * v];
            full.Decode(tokens, pasts.AsSpan(0, b), expected);
            var values = new float[b * k];
            var ids = new int[b * k];
            var lse = new float[b];
            var listedLogits = new float[listed.Length * v];
            runner.DecodeCandidates(tokens, pasts.AsSpan(0, b), listed, values, ids, lse, listedLogits);
            var readLogits = new float[readAfter.Length * v];
            runner.ReadLogits(readAfter, readLogits);
            for (var row = 0; row < b; row++)
            {
                var logits = expected.AsSpan(row * v, v).ToArray();
                var top = Enumerable.Range(0, v).OrderByDescending(i => logits[i]).ThenBy(i => i).Take(k).ToArray();
                Assert.Equal(top, ids.AsSpan(row * k, k).ToArray());
                Assert.Equal(top.Select(i => logits[i]), values.AsSpan(row * k, k).ToArray());
                var max = logits.Max();
                var reference = max + Math.Log(logits.Sum(x => Math.Exp(x - (double)max)));
                // The graph sums in double and rounds once: within two float32 ulps.
                var ulp = MathF.BitIncrement((float)Math.Abs(reference)) - (float)Math.Abs(reference);
                Assert.True(Math.Abs(lse[row] - reference) <= 2 * ulp, $"batch {b} row {row}: log-sum-exp {lse[row]}, reference {reference}");
                checkedRows++;
            }
            AssertRows(expected, listed, listedLogits, v, $"batch {b}, listed up front");
            AssertRows(expected, readAfter, readLogits, v, $"batch {b}, read afterwards");
            for (var row = 0; row < b; row++)
            {
                pasts[row]++;
            }
        }
        Assert.Equal(Steps.Sum(s => s.Batch), checkedRows);
    }

    [Fact]
    public void ReadLogits_BeforeAnyCandidatesDecode_InvalidOperation()
    {
        using var runner = OnnxModelRunner.Create(EngineBatchingTests.TinyModel, Options with { SampleFromCandidates = true });
        Assert.Throws<InvalidOperationException>(() => runner.ReadLogits([0], new float[runner.VocabSize]));
    }

    private static void AssertRows(float[] expected, int[] rows, float[] actual, int vocab, string what)
    {
        for (var i = 0; i < rows.Length; i++)
        {
            Assert.True(expected.AsSpan(rows[i] * vocab, vocab).SequenceEqual(actual.AsSpan(i * vocab, vocab)), $"{what}: row {rows[i]} differs from the full decode");
        }
    }
}
