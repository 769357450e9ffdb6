using Qwen.Inference.Engine;
using Qwen.Inference.Model;
using Qwen.Inference.Tests.Engine;

namespace Qwen.Inference.Tests.Model;

/// <summary>
/// The runner's inputs reach the model on every step, also where the provider copies host inputs when they are bound (a
/// device does; <see cref="EngineOptions.CopyInputsAtBind"/> makes the CPU do it). One script of prefills and decode steps,
/// with batch sizes going up and down and a slot reused, runs on a runner that reads inputs at Run and one that copies
/// them at bind; an independent oracle checks each decode row: a fresh prefill of that row's whole history.
/// </summary>
public sealed class OnnxModelRunnerTests
{
    private static readonly EngineOptions Options = new() { MaxNumSeqs = 3, MaxModelLen = 64, IntraOpThreads = 1 };

    /// <summary>Decode batch size of each step: up, down (slot 2 idles, keeping its length), a slot reused, then back up.</summary>
    private static readonly int[] Steps = [3, 3, 3, 2, 2, 3, 1, 1, 3, 3];

    /// <summary>The step before which slot 0 gets a new sequence (its old one has left): the reused slot starts over at 0.</summary>
    private const int ReuseBefore = 6;

    [Fact]
    public void Decode_InputsCopiedAtBind_SameLogitsAsInputsReadAtRun()
    {
        var readAtRun = RunScript(Options);
        var copiedAtBind = RunScript(Options with { CopyInputsAtBind = true });
        Assert.Equal(readAtRun.Count, copiedAtBind.Count);
        for (var i = 0; i < readAtRun.Count; i++)
        {
            Assert.True(readAtRun[i].Logits.AsSpan().SequenceEqual(copiedAtBind[i].Logits), $"logits of run {i} ({readAtRun[i].What}) differ between reading inputs at Run and copying them at bind");
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Decode_EveryRow_MatchesAFreshPrefillOfItsWholeHistory(bool copyInputsAtBind)
    {
        var runs = RunScript(Options with { CopyInputsAtBind = copyInputsAtBind });
        using var oracle = OnnxModelRunner.Create(EngineBatchingTests.TinyModel, Options);
        var expected = new float[oracle.VocabSize];
        var checkedRows = 0;
        foreach (var run in runs.Where(r => r.History is not null))
        {
            oracle.Prefill(0, run.History, 0, expected);
            var worst = MaxAbsDifference(expected, run.Logits);
            // Same weights, same positions, another batch shape: only float summation order differs (measured: at most 1.4e-5).
            Assert.True(worst < 1e-4, $"{run.What}: largest |Δlogit| {worst} against a prefill of the same {run.History!.Length} tokens");
            checkedRows++;
        }
        Assert.Equal(Steps.Sum(), checkedRows);
    }

    /// <summary>
    /// Runs the script and returns every logits row it produced: the prefills' last rows, and each decode row with the
    /// full token history (prompt plus fed tokens) that produced it.
    /// </summary>
    internal static List<(string What, float[] Logits, int[]? History)> RunScript(EngineOptions options)
    {
        using var runner = OnnxModelRunner.Create(EngineBatchingTests.TinyModel, options);
        var v = runner.VocabSize;
        var histories = new List<int>[runner.MaxNumSeqs];
        var runs = new List<(string, float[], int[]?)>();
        void Prefill(int slot, int[] prompt, int chunk)
        {
            histories[slot] = [];
            for (var at = 0; at < prompt.Length; at += chunk)
            {
                var piece = prompt.AsSpan(at, Math.Min(chunk, prompt.Length - at));
                var logits = new float[v];
                runner.Prefill(slot, piece, at, logits);
                histories[slot].AddRange(piece);
                runs.Add(($"prefill slot {slot} at {at}", logits, null));
            }
        }
        Prefill(0, EngineBatchingTests.Prompt(1, 5), 5);
        Prefill(1, EngineBatchingTests.Prompt(2, 9), 4); // chunked: 4 + 4 + 1
        Prefill(2, EngineBatchingTests.Prompt(3, 3), 3);
        var feed = new Random(7); // the fed tokens need not be the model's choice: any id must reach the graph
        for (var step = 0; step < Steps.Length; step++)
        {
            if (step == ReuseBefore)
            {
                Prefill(0, EngineBatchingTests.Prompt(4, 6), 6);
            }
            var b = Steps[step];
            var tokens = new int[b];
            var pasts = new int[b];
            for (var row = 0; row < b; row++)
            {
                tokens[row] = feed.Next(0, 151643);
                pasts[row] = histories[row].Count;
            }
            var logits = new float[b * v];
            runner.Decode(tokens, pasts, logits);
            for (var row = 0; row < b; row++)
            {
                histories[row].Add(tokens[row]);
                runs.Add(($"decode step {step} (batch {b}) row {row}", logits.AsSpan(row * v, v).ToArray(), [.. histories[row]]));
            }
        }
        return runs;
    }

    private static float MaxAbsDifference(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        var worst = 0f;
        for (var i = 0; i < a.Length; i++)
        {
            worst = Math.Max(worst, Math.Abs(a[i] - b[i]));
        }
        return worst;
    }
}
