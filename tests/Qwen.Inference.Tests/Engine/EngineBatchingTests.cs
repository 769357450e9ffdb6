using Qwen.Inference.Engine;
using Qwen.Inference.Sampling;
using Qwen.OnnxExport;

namespace Qwen.Inference.Tests.Engine;

/// <summary>Continuous batching with the real tiny ONNX model: a request's greedy output does not depend on its neighbours.</summary>
public sealed class EngineBatchingTests
{
    private static readonly EngineOptions Options = new() { MaxNumSeqs = 4, MaxModelLen = 128, MaxWaiting = 16, PrefillChunkSize = 7, IntraOpThreads = 1 };

    internal static string TinyModel => RandomModelCache.GetOrCreate("tiny", "fp32", 1234);

    internal static GenerationRequest Greedy(int[] prompt, int maxTokens) => new(prompt, new SamplingParams(), maxTokens, []);

    internal static int[] Prompt(int seed, int length)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, length).Select(_ => random.Next(0, 151643)).ToArray();
    }

    [Fact]
    public async Task Generate_AloneVersusJoiningAndLeavingNeighbours_SameGreedyTokens()
    {
        int[][] prompts = [Prompt(1, 5), Prompt(2, 23), Prompt(3, 2), Prompt(4, 40), Prompt(5, 11), Prompt(6, 9)];
        int[] lengths = [12, 5, 20, 8, 3, 15];

        // Alone: one request at a time.
        var alone = new List<int[]>();
        await using (var engine = InferenceEngine.Load(TinyModel, Options))
        {
            for (var i = 0; i < prompts.Length; i++)
            {
                alone.Add(await Collect(engine, Greedy(prompts[i], lengths[i]), CancellationToken.None));
            }
        }

        // Together, several arrival patterns: all at once (more than the slots), staggered, and with a cancelled neighbour.
        await using (var engine = InferenceEngine.Load(TinyModel, Options))
        {
            var all = await Task.WhenAll(prompts.Select((p, i) => Collect(engine, Greedy(p, lengths[i]), CancellationToken.None)));
            for (var i = 0; i < prompts.Length; i++)
            {
                Assert.Equal(alone[i], all[i]);
            }

            var staggered = prompts.Select(async (p, i) =>
            {
                await Task.Delay(i * 15);
                return await Collect(engine, Greedy(p, lengths[i]), CancellationToken.None);
            }).ToArray();
            await CancelledAfter(engine, Greedy(Prompt(99, 30), 90), 3);
            var results = await Task.WhenAll(staggered);
            for (var i = 0; i < prompts.Length; i++)
            {
                Assert.Equal(alone[i], results[i]);
            }
            await WaitUntil(() => engine.GetStats() is { Running: 0, Waiting: 0 });
        }
    }

    [Fact]
    public async Task Generate_InputsCopiedAtBind_SameTokensAndLogprobsAsAloneReadAtRun()
    {
        // What a device does with host inputs (copy at bind), on the CPU: batched, staggered and reused slots must still see
        // every step's tokens and lengths. Logprobs too, not only tokens: random weights often repeat one token, so a replayed
        // input can keep the greedy token and still change its logprob.
        int[][] prompts = [Prompt(21, 6), Prompt(22, 19), Prompt(23, 3), Prompt(24, 33), Prompt(25, 8), Prompt(26, 12)];
        int[] lengths = [9, 4, 14, 6, 11, 7];
        GenerationRequest Request(int i) => Greedy(prompts[i], lengths[i]) with { Sampling = new SamplingParams { TopLogprobs = 3 } };
        var alone = new List<GeneratedToken[]>();
        await using (var engine = InferenceEngine.Load(TinyModel, Options))
        {
            for (var i = 0; i < prompts.Length; i++)
            {
                alone.Add(await CollectTokens(engine, Request(i)));
            }
        }
        await using (var engine = InferenceEngine.Load(TinyModel, Options with { CopyInputsAtBind = true }))
        {
            var together = await Task.WhenAll(prompts.Select((_, i) => CollectTokens(engine, Request(i))));
            var staggered = await Task.WhenAll(prompts.Select(async (_, i) =>
            {
                await Task.Delay(i * 15);
                return await CollectTokens(engine, Request(i));
            }));
            foreach (var run in new[] { together, staggered })
            {
                for (var i = 0; i < prompts.Length; i++)
                {
                    Assert.Equal(alone[i].Select(t => t.TokenId), run[i].Select(t => t.TokenId));
                    for (var k = 0; k < alone[i].Length; k++)
                    {
                        // Another batch shape could change float summation order (measured here: identical); a stale input changes far more,
                        // most visibly in the alternatives' logprobs (the chosen token's is often near 0 on random weights).
                        float[] expected = [alone[i][k].Logprob!.Value, .. alone[i][k].TopLogprobs!.Select(t => t.Logprob)];
                        float[] actual = [run[i][k].Logprob!.Value, .. run[i][k].TopLogprobs!.Select(t => t.Logprob)];
                        Assert.Equal(alone[i][k].TopLogprobs!.Select(t => t.TokenId), run[i][k].TopLogprobs!.Select(t => t.TokenId));
                        Assert.True(expected.Zip(actual).All(p => Math.Abs(p.First - p.Second) < 1e-4), $"request {i} token {k}: logprobs [{string.Join(", ", actual)}] batched, [{string.Join(", ", expected)}] alone");
                    }
                }
            }
        }
    }

    [Fact]
    public async Task Generate_MaxTokensAndStopToken_FinishReasonsAndCountsRight()
    {
        await using var engine = InferenceEngine.Load(TinyModel, Options);
        var tokens = new List<GeneratedToken>();
        await foreach (var t in engine.GenerateAsync(Greedy(Prompt(7, 6), 5)))
        {
            tokens.Add(t);
        }
        Assert.Equal(5, tokens.Count);
        Assert.All(tokens.Take(4), t => Assert.Null(t.Finish));
        Assert.Equal(FinishReason.Length, tokens[^1].Finish);

        // Make the last new token of the greedy run a stop token: generation ends at its first occurrence, reporting it.
        var ids = tokens.Select(t => t.TokenId).ToList();
        var at = Enumerable.Range(0, ids.Count).Last(i => !ids.Take(i).Contains(ids[i]));
        var stopped = new List<GeneratedToken>();
        await foreach (var t in engine.GenerateAsync(Greedy(Prompt(7, 6), 5) with { StopTokenIds = [ids[at]] }))
        {
            stopped.Add(t);
        }
        Assert.Equal(ids.Take(at + 1), stopped.Select(t => t.TokenId));
        Assert.Equal(FinishReason.Stop, stopped[^1].Finish);
    }

    [Fact]
    public async Task Generate_PromptLongerThanContext_RejectedUpFront()
    {
        await using var engine = InferenceEngine.Load(TinyModel, Options);
        var e = Assert.Throws<PromptTooLongException>(() => engine.GenerateAsync(Greedy(Prompt(1, 128), 1)));
        Assert.Equal(128, e.PromptTokens);
    }

    internal static async Task<int[]> Collect(InferenceEngine engine, GenerationRequest request, CancellationToken ct)
    {
        var list = new List<int>();
        await foreach (var t in engine.GenerateAsync(request, ct))
        {
            list.Add(t.TokenId);
        }
        return [.. list];
    }

    internal static async Task<GeneratedToken[]> CollectTokens(InferenceEngine engine, GenerationRequest request)
    {
        var list = new List<GeneratedToken>();
        await foreach (var t in engine.GenerateAsync(request))
        {
            list.Add(t);
        }
        return [.. list];
    }

    /// <summary>
    /// Runs a neighbour that its client cancels once it has decoded <paramref name="tokens"/> tokens beside the others (by
    /// count, not by a timer, which a fast step could outrun), and asserts the cancellation surfaced.
    /// </summary>
    internal static Task CancelledAfter(InferenceEngine engine, GenerationRequest request, int tokens)
        => Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            using var cancel = new CancellationTokenSource();
            var seen = 0;
            await foreach (var _ in engine.GenerateAsync(request, cancel.Token))
            {
                if (++seen == tokens)
                {
                    await cancel.CancelAsync();
                }
            }
        });

    internal static async Task WaitUntil(Func<bool> condition)
    {
        for (var i = 0; i < 500 && !condition(); i++)
        {
            await Task.Delay(10);
        }
        Assert.True(condition(), "condition not reached within 5 s");
    }
}
