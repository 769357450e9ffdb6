using System.Diagnostics;
using Qwen.Inference.Engine;

namespace Qwen.Bench;

/// <summary>
/// A lone sequence left in a high slot (`engine --lone yes`): 8 slots; 8 streams are admitted one by one (into slots 0-7,
/// the scheduler taking the lowest free slot), the first 7 are cancelled, and the survivor's decode is timed against a
/// stream started alone in the empty engine (slot 0), alternating the two in each round. Today a decode step runs rows
/// [0, highest busy slot], so the survivor pays for 8 rows; with slot compaction the ratio should be about 1.
/// </summary>
internal static class LoneSlotBench
{
    private const int Slots = 8;

    public static async Task Run(string dir, EngineOptions options, int decodeTokens, int rounds)
    {
        await using var engine = InferenceEngine.Load(dir, options with { MaxNumSeqs = Slots });
        await EngineBench.Generate(engine, EngineBench.Prompt(1, 16), 4); // warm-up
        var (alone, survivor) = (new List<double>(), new List<double>());
        for (var r = 0; r < rounds; r++)
        {
            // Alternate which goes first, so that a machine getting busier slows both alike.
            for (var k = 0; k < 2; k++)
            {
                if ((k + r) % 2 == 0)
                {
                    alone.Add(await Alone(engine, 600 + r, decodeTokens));
                }
                else
                {
                    survivor.Add(await Survivor(engine, 700 + (10 * r), decodeTokens));
                }
            }
        }
        var (a, s) = (Statistics.Median(alone), Statistics.Median(survivor));
        Console.WriteLine($"lone sequence, {Slots} slots: alone (slot 0) {a:F1} tok/s; survivor of 8 in the highest slot {s:F1} tok/s; ratio {s / a:F2} (medians of {rounds} rounds: {string.Join(", ", alone.Select(x => x.ToString("F1", System.Globalization.CultureInfo.InvariantCulture)))} / {string.Join(", ", survivor.Select(x => x.ToString("F1", System.Globalization.CultureInfo.InvariantCulture)))})");
    }

    /// <summary>Tokens/s of one stream started alone in the empty engine, counted after its first token.</summary>
    private static async Task<double> Alone(InferenceEngine engine, int seed, int decodeTokens)
    {
        await EngineBench.WaitUntil(() => engine.GetStats().SlotsUsed == 0);
        var stamps = await EngineBench.Generate(engine, EngineBench.Prompt(seed, 16), decodeTokens + 1);
        return (stamps.Count - 1) / Stopwatch.GetElapsedTime(stamps[0], stamps[^1]).TotalSeconds;
    }

    /// <summary>Tokens/s of the 8th admitted stream once the 7 admitted before it are cancelled and gone.</summary>
    private static async Task<double> Survivor(InferenceEngine engine, int seed, int decodeTokens)
    {
        await EngineBench.WaitUntil(() => engine.GetStats().SlotsUsed == 0);
        using var others = new CancellationTokenSource();
        using var last = new CancellationTokenSource();
        var stamps = Enumerable.Range(0, Slots).Select(_ => new List<long>()).ToArray();
        var runs = new List<Task<int>>();
        for (var i = 0; i < Slots; i++)
        {
            // One at a time: each is admitted before the next is submitted, so admission order is slot order.
            runs.Add(EngineBench.Stamped(engine, EngineBench.Greedy(EngineBench.Prompt(seed + i, 16), 100_000), stamps[i], i < Slots - 1 ? others.Token : last.Token));
            var held = i + 1;
            await EngineBench.WaitUntil(() => engine.GetStats().SlotsUsed == held);
        }
        await others.CancelAsync();
        await Task.WhenAll(runs.Take(Slots - 1));
        await EngineBench.WaitUntil(() => engine.GetStats().SlotsUsed == 1);
        var from = Stopwatch.GetTimestamp();
        var mine = stamps[^1];
        await EngineBench.WaitUntil(() => EngineBench.CountAfter(mine, from) >= decodeTokens + 1 || runs[^1].IsCompleted);
        await last.CancelAsync();
        await runs[^1];
        var after = mine.Where(t => t > from).Take(decodeTokens + 1).ToList();
        if (after.Count < decodeTokens + 1)
        {
            throw new InvalidOperationException("the surviving stream ended before its timed window did");
        }
        return decodeTokens / Stopwatch.GetElapsedTime(after[0], after[^1]).TotalSeconds;
    }
}
