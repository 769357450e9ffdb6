using Qwen.Inference.Engine;
using Qwen.Inference.Sampling;
using Qwen.Inference.Tests.Sampling;
using Qwen.OnnxExport;

namespace Qwen.Inference.Tests.Engine;

/// <summary>Through the real engine on the tiny model: seeded sampling and constraints do not depend on the neighbours; every precision runs.</summary>
public sealed class EngineSamplingTests
{
    private static readonly EngineOptions Options = new() { MaxNumSeqs = 3, MaxModelLen = 128, MaxWaiting = 16, PrefillChunkSize = 7, IntraOpThreads = 1 };

    private static readonly SamplingParams Seeded = new() { Temperature = 1f, TopP = 0.9f, Seed = 42 };

    private static readonly int[][] Prompts = [EngineBatchingTests.Prompt(11, 5), EngineBatchingTests.Prompt(12, 17), EngineBatchingTests.Prompt(13, 3), EngineBatchingTests.Prompt(14, 9), EngineBatchingTests.Prompt(15, 12)];

    private static readonly int[] Lengths = [8, 4, 10, 6, 3];

    /// <summary>Runs every request alone, then all at once (more than the slots) and staggered next to a cancelled neighbour; the tokens must agree.</summary>
    private static async Task AssertSameAloneAndBatched(string modelDirectory, Func<int, GenerationRequest> request)
    {
        var alone = new List<int[]>();
        await using (var engine = InferenceEngine.Load(modelDirectory, Options))
        {
            for (var i = 0; i < Prompts.Length; i++)
            {
                alone.Add(await EngineBatchingTests.Collect(engine, request(i), CancellationToken.None));
            }
        }
        await using (var engine = InferenceEngine.Load(modelDirectory, Options))
        {
            var together = await Task.WhenAll(Prompts.Select((_, i) => EngineBatchingTests.Collect(engine, request(i), CancellationToken.None)));
            for (var i = 0; i < Prompts.Length; i++)
            {
                Assert.Equal(alone[i], together[i]);
            }

            var doomed = EngineBatchingTests.CancelledAfter(engine, EngineBatchingTests.Greedy(EngineBatchingTests.Prompt(98, 20), 100), 3); // a neighbour leaves mid-flight
            var staggered = new List<Task<int[]>>();
            for (var i = 0; i < Prompts.Length; i++)
            {
                staggered.Add(EngineBatchingTests.Collect(engine, request(i), CancellationToken.None));
                await Task.Delay(10); // any interleaving will do: the tokens must not depend on it
            }
            await doomed;
            for (var i = 0; i < Prompts.Length; i++)
            {
                Assert.Equal(alone[i], await staggered[i]);
            }
        }
    }

    [Fact]
    public Task Seeded_TopP_SameTokensAloneAndNextToJoiningAndLeavingRequests()
        => AssertSameAloneAndBatched(EngineBatchingTests.TinyModel, i => new GenerationRequest(Prompts[i], Seeded with { Seed = 42 + (ulong)i }, Lengths[i], []));

    [Fact]
    public async Task Seeded_Constrained_TokensFromTheSetThenStop_SameAloneAndBatched()
    {
        var set = Enumerable.Range(0, 40).Select(i => 1000 + (i * 997)).ToHashSet();
        const int stop = 151_645;
        var constraints = new List<ScriptedConstraint>();
        GenerationRequest Request(int i)
        {
            var c = ScriptedConstraint.SetThenStop(set, Lengths[i], stop);
            lock (constraints)
            {
                constraints.Add(c);
            }
            return new GenerationRequest(Prompts[i], Seeded with { Seed = 7 + (ulong)i }, 100, [stop, 151_643]) { Constraint = c };
        }
        await AssertSameAloneAndBatched(EngineBatchingTests.TinyModel, Request);
        Assert.All(constraints.Where(c => c.Accepted.Count > 0), c =>
        {
            Assert.All(c.Accepted.SkipLast(1), id => Assert.Contains(id, set));
            Assert.Equal(stop, c.Accepted[^1]);
        });

        await using var engine = InferenceEngine.Load(EngineBatchingTests.TinyModel, Options);
        var tokens = new List<GeneratedToken>();
        await foreach (var t in engine.GenerateAsync(Request(0)))
        {
            tokens.Add(t);
        }
        Assert.Equal(Lengths[0] + 1, tokens.Count);
        Assert.Equal(new GeneratedToken(stop, null, null, FinishReason.Stop), tokens[^1]);
    }

    [Fact]
    public async Task Constraint_WithoutStopIds_RejectedUpFront()
    {
        await using var engine = InferenceEngine.Load(EngineBatchingTests.TinyModel, Options);
        var request = EngineBatchingTests.Greedy(Prompts[0], 3) with { Constraint = ScriptedConstraint.EvenIds() };
        Assert.Throws<ArgumentException>(() => engine.GenerateAsync(request));
    }

    [Theory]
    [InlineData("int4")]
    [InlineData("fp16")]
    public Task Precision_Greedy_RunsAndDecodesTheSameAloneAndBatched(string precision)
        => AssertSameAloneAndBatched(RandomModelCache.GetOrCreate("tiny", precision, 1234), i => EngineBatchingTests.Greedy(Prompts[i], Lengths[i]));

    [Fact]
    public async Task ContextLeft_CapsMaxTokens_PromptPlusOutputIsMaxModelLen()
    {
        await using var engine = InferenceEngine.Load(EngineBatchingTests.TinyModel, Options);
        var tokens = new List<GeneratedToken>();
        await foreach (var t in engine.GenerateAsync(EngineBatchingTests.Greedy(EngineBatchingTests.Prompt(3, 120), 50)))
        {
            tokens.Add(t);
        }
        Assert.Equal(8, tokens.Count); // 128 - 120
        Assert.Equal(FinishReason.Length, tokens[^1].Finish);
    }
}
