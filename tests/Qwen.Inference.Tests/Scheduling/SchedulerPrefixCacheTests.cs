using Qwen.Inference.Engine;
using Qwen.Inference.Sampling;
using Qwen.Inference.Scheduling;

namespace Qwen.Inference.Tests.Scheduling;

/// <summary>
/// Prefix caching and slot compaction, one step at a time over the fake model. The fake model's next token hashes the
/// slot's whole history, and it throws when told a slot holds more than was written there, so reusing the wrong rows,
/// claiming rows nobody wrote, or moving a sequence without its rows all change or break the output.
/// </summary>
public sealed class SchedulerPrefixCacheTests
{
    private readonly List<Sequence> _ended = [];

    private static int[] Tokens(int seed, int length)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, length).Select(_ => random.Next(1, 999)).ToArray();
    }

    private static Sequence Seq(int[] prompt, int maxTokens, object? group = null)
        => new(new GenerationRequest(prompt, new SamplingParams(), maxTokens, []) { Group = group }, new SamplingState(new SamplingParams(), prompt, 1000), maxClientLag: 4096);

    private Scheduler Create(FakeRunner runner, int chunk = 512, bool prefixCaching = true)
        => new(runner, new EngineOptions { MaxNumSeqs = runner.MaxNumSeqs, MaxModelLen = runner.MaxModelLen, PrefillChunkSize = chunk, PrefixCaching = prefixCaching }, _ended.Add);

    private static List<int> Drain(Sequence s)
    {
        var list = new List<int>();
        while (s.Output.Reader.TryRead(out var t))
        {
            list.Add(t.TokenId);
        }
        return list;
    }

    private static void RunToIdle(Scheduler scheduler)
    {
        for (var i = 0; i < 100_000 && scheduler.Step(); i++)
        {
        }
    }

    private static List<string> Prefills(FakeRunner runner) => runner.Calls.Where(c => c.StartsWith("prefill", StringComparison.Ordinal)).ToList();

    [Fact]
    public void NextTurn_ReusesThePreviousTurnsPromptAndOutput_PrefillsOnlyTheRest()
    {
        var runner = new FakeRunner(maxNumSeqs: 2);
        var scheduler = Create(runner);
        var first = Seq(Tokens(1, 40), 10);
        scheduler.Enqueue(first);
        RunToIdle(scheduler);
        var output = Drain(first);
        Assert.Equal(FakeRunner.Expected(first.Request.PromptTokens, 10), output);

        // The agent's next turn: everything it sent, what the model answered, and a tool result. The slot holds the prompt
        // and the first 9 answer tokens (the last one was sampled, never fed back).
        int[] next = [.. first.Request.PromptTokens, .. output, .. Tokens(2, 7)];
        var second = Seq(next, 5);
        runner.Calls.Clear();
        scheduler.Enqueue(second);
        RunToIdle(scheduler);
        Assert.Equal(49, second.CachedTokens);
        Assert.Equal(["prefill slot=0 n=8 past=49"], Prefills(runner));
        Assert.Equal(FakeRunner.Expected(next, 5), Drain(second));
        Assert.Equal(new PrefixCacheStats(2, 1, 40 + 57, 49), scheduler.PrefixCache);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void SamePromptAgain_ReusesAllButTheLastToken_OrWithoutPrefixCachingNothing(bool prefixCaching)
    {
        var runner = new FakeRunner(maxNumSeqs: 2);
        var scheduler = Create(runner, prefixCaching: prefixCaching);
        var prompt = Tokens(3, 20);
        scheduler.Enqueue(Seq(prompt, 3));
        RunToIdle(scheduler);
        runner.Calls.Clear();
        var again = Seq(prompt, 3);
        scheduler.Enqueue(again);
        RunToIdle(scheduler);
        Assert.Equal(FakeRunner.Expected(prompt, 3), Drain(again));
        if (prefixCaching)
        {
            Assert.Equal(19, again.CachedTokens); // the last prompt token is prefilled again: its logits give the first token
            Assert.Equal(["prefill slot=0 n=1 past=19"], Prefills(runner));
            Assert.Equal(new PrefixCacheStats(2, 1, 40, 19), scheduler.PrefixCache);
        }
        else
        {
            Assert.Equal(0, again.CachedTokens);
            Assert.Equal(["prefill slot=0 n=20 past=0"], Prefills(runner)); // the lowest free slot: kept contents are worth nothing
            Assert.Equal(PrefixCacheStats.None, scheduler.PrefixCache);
        }
    }

    [Fact]
    public void FourChoicesOfOneRequest_PromptPrefilledOnceAndCopiedThreeTimes()
    {
        var runner = new FakeRunner(maxNumSeqs: 4);
        var scheduler = Create(runner, chunk: 16);
        var prompt = Tokens(4, 50);
        var group = new object();
        var choices = Enumerable.Range(0, 4).Select(_ => Seq(prompt, 6, group)).ToArray();
        foreach (var c in choices)
        {
            scheduler.Enqueue(c);
        }
        RunToIdle(scheduler);
        // The first choice prefills all 50 tokens in chunks of 16; each other copies 49 rows and prefills the last token.
        Assert.Equal(
            ["prefill slot=0 n=16 past=0", "prefill slot=0 n=16 past=16", "prefill slot=0 n=16 past=32", "prefill slot=0 n=2 past=48"],
            Prefills(runner).Take(4));
        Assert.Equal(3, Prefills(runner).Count(c => c.EndsWith("n=1 past=49", StringComparison.Ordinal)));
        Assert.Equal(7, Prefills(runner).Count);
        Assert.Equal(3, runner.Calls.Count(c => c.StartsWith("copy", StringComparison.Ordinal) && c.EndsWith("n=49", StringComparison.Ordinal)));
        Assert.Equal([0, 49, 49, 49], choices.Select(c => c.CachedTokens));
        foreach (var c in choices)
        {
            Assert.Equal(FakeRunner.Expected(prompt, 6), Drain(c));
        }
    }

    [Fact]
    public void LoneSurvivorInTheHighestSlot_DecodesAsABatchOfOne()
    {
        var runner = new FakeRunner(maxNumSeqs: 4);
        var scheduler = Create(runner);
        var seqs = Enumerable.Range(0, 4).Select(i => Seq(Tokens(10 + i, 5 + i), 40)).ToArray();
        foreach (var s in seqs)
        {
            scheduler.Enqueue(s);
        }
        while (scheduler.Running < 4)
        {
            Assert.True(scheduler.Step());
        }
        Assert.Equal([0, 1, 2, 3], seqs.Select(s => s.Slot));
        seqs[0].Cancelled = seqs[1].Cancelled = seqs[2].Cancelled = true;
        runner.Calls.Clear();
        RunToIdle(scheduler);
        Assert.Equal("swap a=0 b=3 n=8", runner.Calls[0]); // moved once, with its 8 rows; slot 0's kept contents went up
        Assert.All(runner.Calls.Skip(1), c => Assert.Equal("decode b=1", c));
        var survivor = Drain(seqs[3]);
        Assert.Equal(FakeRunner.Expected(seqs[3].Request.PromptTokens, 40), survivor);

        // Slot 3 kept what slot 0 held: the first sequence's prompt is found there.
        runner.Calls.Clear();
        var again = Seq(seqs[0].Request.PromptTokens, 2);
        scheduler.Enqueue(again);
        RunToIdle(scheduler);
        Assert.Equal(4, again.CachedTokens);
        Assert.Equal(FakeRunner.Expected(seqs[0].Request.PromptTokens, 2), Drain(again));
    }

    [Fact]
    public void FreeSlots_EmptyFirstThenLeastRecentlyUsed_AndAHitWinsOverBoth()
    {
        var runner = new FakeRunner(maxNumSeqs: 3);
        var scheduler = Create(runner);
        int[] a = Tokens(20, 12), b = Tokens(21, 12), c = Tokens(22, 12), d = Tokens(23, 12);
        int Cached(int[] prompt)
        {
            var s = Seq(prompt, 2);
            scheduler.Enqueue(s);
            RunToIdle(scheduler);
            Assert.Equal(FakeRunner.Expected(prompt, 2), Drain(s));
            return s.CachedTokens;
        }

        Assert.Equal([0, 0, 0], new[] { a, b, c }.Select(Cached));
        Assert.Equal(11, Cached(a)); // c took the empty slot, not a kept one: a is still there (and now the most recent)
        Assert.Equal(0, Cached(d));  // evicts the least recently used: b
        Assert.Equal(11, Cached(c));
        Assert.Equal(12, Cached([.. d, 7, 8])); // a longer prompt: all of d's 12 tokens (d's slot is not the least recent: a's is)
        Assert.Equal(0, Cached(b));
    }

    [Theory]
    [InlineData(1, true)]
    [InlineData(2, true)]
    [InlineData(3, true)]
    [InlineData(4, true)]
    [InlineData(5, true)]
    [InlineData(6, true)]
    [InlineData(1, false)]
    [InlineData(2, false)]
    public void RandomArrivalsOverlappingPromptsAndCancellations_EveryOutputAsTheModelAlone(int seed, bool prefixCaching)
    {
        // A tiny cache (2 or 3 slots) under many prompts that share stems of every length, continue earlier turns, or
        // repeat: slots are reused, copied from, swapped and evicted all the time. Every output must be what the model says
        // alone, and no decode may carry an idle row (the fake model's token 0, never fed by a real one).
        var random = new Random(seed);
        var runner = new FakeRunner(maxNumSeqs: 2 + (seed % 2), maxModelLen: 200);
        var scheduler = Create(runner, chunk: random.Next(3, 30), prefixCaching: prefixCaching);
        var stems = Enumerable.Range(0, 4).Select(i => Tokens((seed * 100) + i, random.Next(10, 60))).ToArray();
        var finished = new List<(int[] Prompt, int[] Output)>();
        var live = new List<Sequence>();
        var checkedCount = 0;
        for (var step = 0; step < 1500; step++)
        {
            if (random.Next(4) == 0 && live.Count < 12)
            {
                int[] prompt = random.Next(4) switch
                {
                    0 when finished.Count > 0 && Continue(finished[random.Next(finished.Count)], random) is { Length: < 150 } next => next,
                    1 => stems[random.Next(stems.Length)],
                    _ => [.. stems[random.Next(stems.Length)].Take(random.Next(1, 60)), .. Tokens(random.Next(), random.Next(1, 20))],
                };
                var group = random.Next(3) == 0 ? new object() : null;
                foreach (var _ in Enumerable.Range(0, group is null ? 1 : random.Next(1, 4)))
                {
                    var s = Seq(prompt, random.Next(1, 25), group);
                    scheduler.Enqueue(s);
                    live.Add(s);
                }
            }
            if (random.Next(40) == 0 && live.Count > 0)
            {
                live[random.Next(live.Count)].Cancelled = true;
            }
            scheduler.Step();
            foreach (var s in live.Where(_ended.Contains).ToList())
            {
                live.Remove(s);
                var output = Drain(s);
                var expected = FakeRunner.Expected(s.Request.PromptTokens, output.Count);
                Assert.Equal(expected, output);
                if (!s.Cancelled)
                {
                    Assert.Equal(s.Request.MaxTokens, output.Count);
                    finished.Add((s.Request.PromptTokens, output.ToArray()));
                    checkedCount++;
                }
            }
        }
        RunToIdle(scheduler);
        Assert.True(checkedCount > 40, $"only {checkedCount} sequences finished");
        Assert.DoesNotContain(runner.DecodedTokens, t => t == 0);
        if (prefixCaching)
        {
            Assert.True(scheduler.PrefixCache.HitTokens > 0);
        }
    }

    private static int[] Continue((int[] Prompt, int[] Output) turn, Random random)
        => [.. turn.Prompt, .. turn.Output, .. Tokens(random.Next(), random.Next(1, 12))];
}
