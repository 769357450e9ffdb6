using Qwen.Inference.Engine;
using Qwen.Inference.Sampling;
using Qwen.Inference.Scheduling;

namespace Qwen.Inference.Tests.Scheduling;

/// <summary>Fair-share admission, one step at a time over the fake model: requests (groups) take free slots in turn.</summary>
public sealed class SchedulerFairShareTests
{
    private readonly List<Sequence> _ended = [];

    private static int[] Prompt(int seed, int length) => Enumerable.Range(0, length).Select(i => ((seed * 31) + (i * 7)) % 997 + 1).ToArray();

    private static Sequence Seq(int[] prompt, int maxTokens, object? group)
        => new(new GenerationRequest(prompt, new SamplingParams(), maxTokens, []) { Group = group }, new SamplingState(new SamplingParams(), prompt, 1000), maxClientLag: 4096);

    private Scheduler Create(FakeRunner runner, int chunk)
        => new(runner, new EngineOptions { MaxNumSeqs = runner.MaxNumSeqs, MaxModelLen = runner.MaxModelLen, PrefillChunkSize = chunk }, _ended.Add);

    private static List<int> Drain(Sequence s)
    {
        var list = new List<int>();
        while (s.Output.Reader.TryRead(out var t))
        {
            list.Add(t.TokenId);
        }
        return list;
    }

    [Fact]
    public void Admission_BigRequestQueuedFirst_SmallRequestTakesTheNextFreeSlot()
    {
        // Issue 14, defect 6: one request's choices queued ahead must not hold a later small request back.
        var runner = new FakeRunner(maxNumSeqs: 2);
        var scheduler = Create(runner, chunk: 512);
        var a = new object();
        var choices = new[] { Seq(Prompt(1, 1), 2, a), Seq(Prompt(2, 2), 50, a), Seq(Prompt(3, 3), 2, a), Seq(Prompt(4, 4), 2, a) };
        foreach (var s in choices)
        {
            scheduler.Enqueue(s);
        }
        Assert.True(scheduler.Step()); // A's first two choices take both slots
        var small = Seq(Prompt(5, 5), 2, new object());
        scheduler.Enqueue(small);
        for (var i = 0; i < 10_000 && scheduler.Step(); i++)
        {
        }
        // Prompt lengths name the sequences. When A's first choice ends, A still holds a slot and the small request
        // none: it goes before A's third and fourth (arrival order alone would give 1, 2, 3, 4, 5).
        Assert.Equal(["n=1", "n=2", "n=5", "n=3", "n=4"], runner.Calls.Where(c => c.StartsWith("prefill", StringComparison.Ordinal)).Select(c => c.Split(' ')[2]));
        foreach (var s in choices.Append(small))
        {
            Assert.Equal(FakeRunner.Expected(s.Request.PromptTokens, s.Request.MaxTokens), Drain(s));
        }
    }

    [Fact]
    public void Admission_RandomRequestsOfManyChoices_EachStepAdmitsWhatTheNaiveRuleDoes()
    {
        var runner = new FakeRunner(maxNumSeqs: 3);
        var scheduler = Create(runner, chunk: 2);
        var random = new Random(14);
        var all = new List<Sequence>();
        var requests = 0;
        for (var step = 0; step < 5_000; step++)
        {
            if (requests < 40 && random.Next(3) == 0)
            {
                // A request of 1-4 choices; one in five is ungrouped (a group of its own).
                var group = random.Next(5) == 0 ? null : new object();
                var n = group is null ? 1 : random.Next(1, 5);
                requests++;
                for (var i = 0; i < n; i++)
                {
                    var s = Seq(Prompt(all.Count, random.Next(1, 7)), random.Next(1, 6), group);
                    scheduler.Enqueue(s);
                    all.Add(s);
                }
            }
            var waiting = all.Where(s => s.Slot < 0 && !_ended.Contains(s)).ToList();
            var holding = all.Where(s => s.Slot >= 0).ToList();
            var expected = NaiveAdmissions(waiting, holding, runner.MaxNumSeqs - holding.Count);
            var worked = scheduler.Step();
            var admitted = waiting.Where(s => s.Slot >= 0 || _ended.Contains(s)).ToList(); // one may end in the step that admitted it
            Assert.Equal(expected.Select(s => s.Arrival).Order(), admitted.Select(s => s.Arrival).Order());
            if (!worked && requests == 40)
            {
                break;
            }
        }
        Assert.Equal(all.Count, _ended.Count);
        Assert.All(all, s => Assert.Equal(FakeRunner.Expected(s.Request.PromptTokens, s.Request.MaxTokens), Drain(s)));
    }

    /// <summary>
    /// The documented rule, spelled out naively: each free slot goes to the waiting sequence whose group holds the fewest
    /// slots (counting those given out before it), the oldest arrival among equals; an ungrouped sequence holds none.
    /// </summary>
    private static List<Sequence> NaiveAdmissions(List<Sequence> waiting, List<Sequence> holding, int free)
    {
        var held = new List<Sequence>(holding);
        int Held(Sequence s) => s.Request.Group is null ? 0 : held.Count(h => ReferenceEquals(h.Request.Group, s.Request.Group));
        var left = new List<Sequence>(waiting);
        var picked = new List<Sequence>();
        for (var i = 0; i < free && left.Count > 0; i++)
        {
            var next = left.OrderBy(Held).ThenBy(s => s.Arrival).First();
            picked.Add(next);
            held.Add(next);
            left.Remove(next);
        }
        return picked;
    }
}
