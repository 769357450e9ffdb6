using Qwen.Inference.Engine;
using Qwen.Inference.Sampling;
using Qwen.Inference.Scheduling;
using Qwen.Inference.Tests.Sampling;

namespace Qwen.Inference.Tests.Scheduling;

/// <summary>The scheduler's rule, driven one step at a time over the fake model: no threads, no timing, exact call order.</summary>
public sealed class SchedulerStepTests
{
    private readonly List<Sequence> _ended = []; // told by the scheduler (a channel's Completion waits for its reader)

    private static int[] Prompt(int seed, int length) => Enumerable.Range(0, length).Select(i => ((seed * 31) + (i * 7)) % 997 + 1).ToArray();

    private static Sequence Seq(int[] prompt, int maxTokens, IReadOnlyList<int>? stops = null, ITokenConstraint? constraint = null)
        => new(new GenerationRequest(prompt, new SamplingParams(), maxTokens, stops ?? []) { Constraint = constraint }, new SamplingState(new SamplingParams(), prompt, 1000), maxClientLag: 4096);

    private Scheduler Create(FakeRunner runner, int chunk = 512)
        => new(runner, new EngineOptions { MaxNumSeqs = runner.MaxNumSeqs, MaxModelLen = runner.MaxModelLen, PrefillChunkSize = chunk }, _ended.Add);

    private static List<GeneratedToken> Drain(Sequence s)
    {
        var list = new List<GeneratedToken>();
        while (s.Output.Reader.TryRead(out var t))
        {
            list.Add(t);
        }
        return list;
    }

    /// <summary>
    /// Starts <paramref name="running"/> decoding, then enqueues <paramref name="longOne"/> and steps until it has ended, the
    /// runner's calls cleared in between; returns the slot <paramref name="longOne"/> was given.
    /// </summary>
    private int PrefillWhileDecoding(Scheduler scheduler, FakeRunner runner, Sequence running, Sequence longOne)
    {
        scheduler.Enqueue(running);
        Assert.True(scheduler.Step()); // prefill
        Assert.True(scheduler.Step()); // decoding now
        scheduler.Enqueue(longOne);
        runner.Calls.Clear();
        var slot = -1;
        while (!_ended.Contains(longOne))
        {
            Assert.True(scheduler.Step());
            slot = slot < 0 ? longOne.Slot : slot; // the slot it was really given
        }
        return slot;
    }

    private static void RunToIdle(Scheduler scheduler)
    {
        for (var i = 0; i < 10_000 && scheduler.Step(); i++)
        {
        }
    }

    [Fact]
    public void Ended_IsToldBeforeTheReaderCanSeeTheEnd()
    {
        // The engine counts a sequence out of its in-flight bound when told; a reader that saw its end first could send its
        // next request into a full engine (the parity tool's one-slot, no-queue reference got "the engine is full: 1
        // running and 0 waiting" between two of its own sequential requests). So the channel completes only after.
        var completedWhenTold = new List<bool>();
        var runner = new FakeRunner(maxNumSeqs: 1);
        var scheduler = new Scheduler(runner, new EngineOptions { MaxNumSeqs = 1, MaxModelLen = runner.MaxModelLen }, s =>
        {
            Drain(s);
            completedWhenTold.Add(s.Output.Reader.Completion.IsCompleted); // drained: completed only if the writer was
        });
        var cancelled = Seq(Prompt(2, 3), 100);
        scheduler.Enqueue(Seq(Prompt(1, 3), 2));
        RunToIdle(scheduler);
        scheduler.Enqueue(cancelled);
        scheduler.Step();
        cancelled.Cancelled = true;
        RunToIdle(scheduler);
        Assert.Equal([false, false], completedWhenTold);
    }

    [Fact]
    public void Prefill_NewcomerInALowerSlot_OldestArrivalChunksGoFirst()
    {
        var runner = new FakeRunner(maxNumSeqs: 2);
        var scheduler = Create(runner, chunk: 4);
        var a = Seq(Prompt(1, 3), 3);
        var b = Seq(Prompt(2, 20), 1);
        var c = Seq(Prompt(3, 8), 1);
        scheduler.Enqueue(a);
        Assert.True(scheduler.Step()); // prefill A (slot 0), its first token
        scheduler.Enqueue(b);
        Assert.True(scheduler.Step()); // B admitted to slot 1; the last step was a prefill, so A decodes
        Assert.Equal(1, b.Slot);
        Assert.True(scheduler.Step()); // B's first chunk
        Assert.True(scheduler.Step()); // A's third token: A ends and leaves slot 0
        Assert.Equal([a], _ended);
        Assert.Equal((0, 1), (scheduler.Running, scheduler.SlotsUsed)); // B holds a slot but does not decode yet

        scheduler.Enqueue(c);
        runner.Calls.Clear();
        Assert.True(scheduler.Step());
        Assert.Equal(0, c.Slot); // C took the lower slot...
        Assert.Equal((0, 2), (scheduler.Running, scheduler.SlotsUsed));
        RunToIdle(scheduler);
        // ...but B arrived first: all of B's chunks, then C's.
        Assert.Equal(
            ["prefill slot=1 n=4 past=4", "prefill slot=1 n=4 past=8", "prefill slot=1 n=4 past=12", "prefill slot=1 n=4 past=16", "prefill slot=0 n=4 past=0", "prefill slot=0 n=4 past=4"],
            runner.Calls);
        Assert.Equal(FakeRunner.Expected(a.Request.PromptTokens, 3), Drain(a).Select(t => t.TokenId));
        Assert.Equal(FakeRunner.Expected(b.Request.PromptTokens, 1), Drain(b).Select(t => t.TokenId));
        Assert.Equal(FakeRunner.Expected(c.Request.PromptTokens, 1), Drain(c).Select(t => t.TokenId));
    }

    [Fact]
    public void LongPrompt_ArrivingMidStream_PrefilledInChunksBetweenDecodeSteps()
    {
        var runner = new FakeRunner(maxNumSeqs: 2);
        var scheduler = Create(runner, chunk: 10);
        var running = Seq(Prompt(1, 4), 200);
        var longOne = Seq(Prompt(2, 95), 1);
        var slot = PrefillWhileDecoding(scheduler, runner, running, longOne);
        Assert.Equal(1, slot);
        // 95 tokens in chunks of 10 = 10 chunks, in order, never two in a row while someone decodes.
        var prefills = runner.Calls.Where(c => c.StartsWith("prefill", StringComparison.Ordinal)).ToList();
        Assert.Equal(Enumerable.Range(0, 10).Select(i => $"prefill slot={slot} n={Math.Min(10, 95 - (i * 10))} past={i * 10}"), prefills);
        for (var i = 1; i < runner.Calls.Count; i++)
        {
            Assert.False(runner.Calls[i].StartsWith("prefill", StringComparison.Ordinal) && runner.Calls[i - 1].StartsWith("prefill", StringComparison.Ordinal), $"two prefill chunks in a row at call {i}");
        }
        var tokens = Drain(running).Select(t => t.TokenId).ToList();
        Assert.True(tokens.Count >= 11, $"the running stream got {tokens.Count} tokens around 10 chunks");
        Assert.Equal(FakeRunner.Expected(running.Request.PromptTokens, tokens.Count), tokens);
        Assert.Equal(FakeRunner.Expected(longOne.Request.PromptTokens, 1), Drain(longOne).Select(t => t.TokenId));
    }

    /// <summary>The reference for a scaled chunk: the largest n whose tokens' work, summed one token at a time, fits the budget.</summary>
    private static int ReferenceChunk(int chunk, int past, double r)
    {
        // Token j of a chunk (from 0) runs the linear layers once and attends to past + j + 1 keys.
        double Work(int n, int p) => Enumerable.Range(0, n).Sum(j => 1 + (r * (p + j + 1)));
        var budget = Work(chunk, 0);
        var n = chunk;
        while (n > EngineOptions.MinScaledChunk && Work(n, past) > budget * (1 + 1e-12))
        {
            n--;
        }
        return n;
    }

    [Theory]
    [InlineData(256, 1.2019e-4)] // Qwen2.5-0.5B's shape
    [InlineData(256, 2.6e-3)]    // the tiny preset's
    [InlineData(64, 0.01)]
    [InlineData(512, 3.08e-5)]   // 7B's
    public void ScaledChunk_IsTheLargestChunkWithinAFullChunksWorkAtTheStart(int chunk, double r)
    {
        foreach (var past in new[] { 0, 1, 17, 300, 1000, 4096, 8192, 32768, 65536, 100_000, 131_000 })
        {
            Assert.Equal(ReferenceChunk(chunk, past, r), Scheduler.ScaledChunk(chunk, past, r));
        }
        Assert.Equal(chunk, Scheduler.ScaledChunk(chunk, 100_000, 0)); // unknown cost: fixed chunks
        Assert.Equal(EngineOptions.MinScaledChunk, Scheduler.ScaledChunk(chunk, 10_000_000, r));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void LongPrompt_WhileAnotherDecodes_ChunksShrinkWithTheContext_UnlessTurnedOff(bool scale)
    {
        const double r = 0.01;
        var runner = new FakeRunner(maxNumSeqs: 2, maxModelLen: 1024) { AttentionCostPerKey = r };
        var scheduler = new Scheduler(runner, new EngineOptions { MaxNumSeqs = 2, MaxModelLen = 1024, PrefillChunkSize = 64, ScalePrefillChunks = scale }, _ended.Add);
        var running = Seq(Prompt(1, 4), 900);
        var longOne = Seq(Prompt(2, 600), 1);
        Assert.Equal(1, PrefillWhileDecoding(scheduler, runner, running, longOne));
        var expected = new List<string>();
        for (var past = 0; past < 600;)
        {
            var n = Math.Min(scale ? ReferenceChunk(64, past, r) : 64, 600 - past);
            expected.Add($"prefill slot=1 n={n} past={past}");
            past += n;
        }
        Assert.Equal(expected, runner.Calls.Where(c => c.StartsWith("prefill", StringComparison.Ordinal)));
        Assert.Equal(FakeRunner.Expected(longOne.Request.PromptTokens, 1), Drain(longOne).Select(t => t.TokenId));
        var tokens = Drain(running).Select(t => t.TokenId).ToList();
        Assert.Equal(FakeRunner.Expected(running.Request.PromptTokens, tokens.Count), tokens);
    }

    [Fact]
    public void LongPrompt_WithNothingDecoding_KeepsFullChunks()
    {
        var runner = new FakeRunner(maxNumSeqs: 2, maxModelLen: 1024) { AttentionCostPerKey = 0.01 };
        var scheduler = Create(runner, chunk: 64);
        var longOne = Seq(Prompt(2, 600), 1);
        scheduler.Enqueue(longOne);
        RunToIdle(scheduler);
        Assert.Equal(Enumerable.Range(0, 10).Select(i => $"prefill slot=0 n={Math.Min(64, 600 - (i * 64))} past={i * 64}"), runner.Calls.Where(c => c.StartsWith("prefill", StringComparison.Ordinal)));
    }

    [Fact]
    public void Admission_SlotsFull_ArrivalOrderSkippingTheCancelled()
    {
        var runner = new FakeRunner(maxNumSeqs: 1);
        var scheduler = Create(runner);
        var seqs = Enumerable.Range(1, 5).Select(n => Seq(Prompt(n, n), 2)).ToArray(); // prompt lengths 1..5 tell them apart
        foreach (var s in seqs)
        {
            scheduler.Enqueue(s);
        }
        seqs[2].Cancelled = true; // waiting: dropped without ever taking the slot
        RunToIdle(scheduler);
        Assert.Equal(["n=1", "n=2", "n=4", "n=5"], runner.Calls.Where(c => c.StartsWith("prefill", StringComparison.Ordinal)).Select(c => c.Split(' ')[2]));
        Assert.True(seqs[2].Output.Reader.Completion.IsCanceled);
        foreach (var i in new[] { 0, 1, 3, 4 })
        {
            Assert.Equal(FakeRunner.Expected(seqs[i].Request.PromptTokens, 2), Drain(seqs[i]).Select(t => t.TokenId));
        }
    }

    [Fact]
    public void Cancel_Running_NextStepFreesTheSlotAndAdmitsTheNext()
    {
        var runner = new FakeRunner(maxNumSeqs: 1);
        var scheduler = Create(runner);
        var a = Seq(Prompt(1, 3), 1000);
        var b = Seq(Prompt(2, 5), 2);
        scheduler.Enqueue(a);
        scheduler.Enqueue(b);
        for (var i = 0; i < 3; i++)
        {
            Assert.True(scheduler.Step()); // A: prefill and two decodes; B waits
        }
        a.Cancelled = true; // what the engine does when the caller's token is cancelled
        runner.Calls.Clear();
        Assert.True(scheduler.Step());
        Assert.Equal([a], _ended);
        Assert.Equal(["prefill slot=0 n=5 past=0"], runner.Calls); // the same step gave the slot to B
        Assert.Equal(3, Drain(a).Count);
        Assert.True(a.Output.Reader.Completion.IsCanceled); // drained: the caller now sees the cancellation
    }

    [Theory]
    [InlineData(100, 5)] // capped by the context: 20 - 15
    [InlineData(5, 5)]
    [InlineData(3, 3)]
    public void MaxTokens_CappedByTheContextLeft_EndsWithLength(int maxTokens, int expected)
    {
        var runner = new FakeRunner(maxModelLen: 20);
        var scheduler = Create(runner);
        var s = Seq(Prompt(1, 15), maxTokens);
        scheduler.Enqueue(s);
        RunToIdle(scheduler);
        var tokens = Drain(s);
        Assert.Equal(FakeRunner.Expected(s.Request.PromptTokens, expected), tokens.Select(t => t.TokenId));
        Assert.All(tokens.SkipLast(1), t => Assert.Null(t.Finish));
        Assert.Equal(FinishReason.Length, tokens[^1].Finish);
        Assert.Equal(0, scheduler.SlotsUsed);
    }

    [Fact]
    public void Constraint_SetThenStop_GreedyPicksTheBestAllowedThenStops()
    {
        var runner = new FakeRunner();
        var scheduler = Create(runner);
        var prompt = Prompt(4, 6);
        HashSet<int> set = [11, 22, 33, FakeRunner.Expected(prompt, 1)[0]]; // the first greedy token is allowed, later ones likely not
        var constraint = ScriptedConstraint.SetThenStop(set, 3, 999);
        var s = Seq(prompt, 50, stops: [999, 5], constraint: constraint);
        scheduler.Enqueue(s);
        RunToIdle(scheduler);

        // Oracle: the fake model's argmax when allowed, else the lowest allowed id (all other logits are equal, 0).
        var history = new List<int>(prompt);
        var expected = new List<int>();
        for (var i = 0; i < 3; i++)
        {
            var next = FakeRunner.Expected([.. history], 1)[0];
            var token = set.Contains(next) ? next : set.Min();
            expected.Add(token);
            history.Add(token);
        }
        expected.Add(999);
        var tokens = Drain(s);
        Assert.Equal(expected, tokens.Select(t => t.TokenId));
        Assert.Equal(expected, constraint.Accepted);
        Assert.Equal(FinishReason.Stop, tokens[^1].Finish);
    }

    [Fact]
    public void Constraint_StopIdDisallowed_IsNeverSampled()
    {
        var runner = new FakeRunner();
        var scheduler = Create(runner);
        var prompt = Prompt(5, 4);
        var stop = FakeRunner.Expected(prompt, 1)[0]; // the unconstrained first token would end the sequence
        var s = Seq(prompt, 4, stops: [stop], constraint: new ScriptedConstraint((_, id) => id != stop));
        scheduler.Enqueue(s);
        RunToIdle(scheduler);
        var tokens = Drain(s);
        Assert.Equal(4, tokens.Count);
        Assert.DoesNotContain(stop, tokens.Select(t => t.TokenId));
        Assert.Equal(FinishReason.Length, tokens[^1].Finish);
    }

    [Fact]
    public void Constraint_NothingAllowed_EndsWithTheFirstStopId()
    {
        var runner = new FakeRunner();
        var scheduler = Create(runner);
        var constraint = new ScriptedConstraint((position, _) => position < 2);
        var s = Seq(Prompt(6, 4), 50, stops: [7, 9], constraint: constraint);
        scheduler.Enqueue(s);
        RunToIdle(scheduler);
        var tokens = Drain(s);
        Assert.Equal(3, tokens.Count);
        Assert.Equal(FakeRunner.Expected(s.Request.PromptTokens, 2), tokens.Take(2).Select(t => t.TokenId));
        Assert.Equal(new GeneratedToken(7, null, null, FinishReason.Stop), tokens[2]);
        Assert.Equal(2, constraint.Accepted.Count);
        Assert.True(s.Output.Reader.Completion.IsCompletedSuccessfully);
        Assert.Equal([s], _ended);
        Assert.Equal(0, scheduler.SlotsUsed);
    }
}
