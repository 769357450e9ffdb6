using Qwen.Inference.Engine;
using Qwen.Inference.Sampling;
using Qwen.Inference.Tests.Scheduling;

namespace Qwen.Inference.Tests.Engine;

/// <summary>
/// The engine never waits for a reader: a request whose reader falls MaxClientLag tokens behind is ended and its slot
/// freed, its buffered tokens stay readable and then <see cref="ClientTooSlowException"/> comes; a reader at most
/// MaxClientLag behind gets every token. The oracle is <see cref="FakeRunner.Expected"/> (the model alone).
/// </summary>
public sealed class EngineBackpressureTests
{
    private const int Lag = 8;

    private static readonly int[] PromptA = [11, 12, 13];
    private static readonly int[] PromptB = [21, 22, 23, 24];

    private static GenerationRequest Request(int[] prompt, int max) => new(prompt, new SamplingParams(), max, []);

    [Fact]
    public async Task ReaderThatNeverReads_OneSlot_EndedAfterLagTokensAndTheNextRequestRuns()
    {
        var runner = new FakeRunner(maxNumSeqs: 1, maxModelLen: 4096);
        await using var engine = new InferenceEngine(runner, new EngineOptions { MaxNumSeqs = 1, MaxModelLen = 4096, MaxWaiting = 4, MaxClientLag = Lag });
        var unread = engine.GenerateAsync(Request(PromptA, 4000)); // queued now, never read until the end

        // One slot: the second request can only run once the unread one gave its slot back, long before its 4000 tokens.
        var second = new List<int>();
        using (var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60)))
        {
            await foreach (var t in engine.GenerateAsync(Request(PromptB, Lag), timeout.Token))
            {
                second.Add(t.TokenId);
            }
        }
        Assert.Equal(FakeRunner.Expected(PromptB, Lag), second);
        Assert.Equal(Lag + 1, unread.Generated); // the token that found the channel full was the last one sampled

        // The buffered tokens come first, exactly the model's, then the reason.
        var read = new List<int>();
        var error = await Assert.ThrowsAsync<ClientTooSlowException>(async () =>
        {
            await foreach (var t in unread)
            {
                read.Add(t.TokenId);
            }
        });
        Assert.Equal(FakeRunner.Expected(PromptA, Lag), read);
        Assert.Equal((Lag, Lag + 1), (error.MaxClientLag, error.Generated));
        Assert.Contains($"more than {Lag} tokens behind", error.Message, StringComparison.Ordinal);
        Assert.Equal(0, engine.GetStats().SlotsUsed);
    }

    [Fact]
    public async Task ReaderExactlyLagBehind_EveryToken_NoError()
    {
        // The engine may run Lag tokens ahead and no further: a decode step takes a permit, the reader gives one per token read.
        using var paced = new SemaphoreSlim(Lag - 1); // the prefill's token plus Lag - 1 decodes fill the channel exactly
        var runner = new FakeRunner(maxNumSeqs: 2, maxModelLen: 4096) { DecodeGate = paced };
        await using var engine = new InferenceEngine(runner, new EngineOptions { MaxNumSeqs = 2, MaxModelLen = 4096, MaxWaiting = 4, MaxClientLag = Lag });
        var read = new List<int>();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await foreach (var t in engine.GenerateAsync(Request(PromptA, 6 * Lag), timeout.Token))
        {
            read.Add(t.TokenId);
            paced.Release();
        }
        Assert.Equal(FakeRunner.Expected(PromptA, 6 * Lag), read);
    }

    [Fact]
    public void MaxClientLag_Zero_Refused()
        => Assert.Throws<ArgumentOutOfRangeException>(() => new InferenceEngine(new FakeRunner(), new EngineOptions { MaxClientLag = 0 }));
}
