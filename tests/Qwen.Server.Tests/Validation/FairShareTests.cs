using System.Net;
using System.Text.Json;

namespace Qwen.Server.Tests.Validation;

/// <summary>
/// Issue 14, defect 6, over HTTP: on 8 slots one request may hold at most 4 (n up to half the slots by default; a larger n
/// is a 400 naming the setting), and a small request is admitted at the next free slot, ahead of a queued request's choices.
/// </summary>
public sealed class FairShareTests(FairShareTests.EightSlots server) : IClassFixture<FairShareTests.EightSlots>
{
    [Theory]
    [InlineData("/v1/chat/completions", """{"messages":[{"role":"user","content":"hi"}],"max_tokens":2,"n":4}""")]
    [InlineData("/v1/completions", """{"prompt":"hi","max_tokens":2,"n":4}""")]
    public async Task N_AtTheDefaultCapOfHalfTheSlots_200WithThatManyChoices(string path, string body)
    {
        using var response = await server.Http.SendAsync(server.Post(path, body));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var choices = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("choices");
        Assert.Equal([0, 1, 2, 3], choices.EnumerateArray().Select(c => c.GetProperty("index").GetInt32()).Order());
    }

    [Theory]
    [InlineData("/v1/chat/completions", """{"messages":[{"role":"user","content":"hi"}],"n":5}""", "5")]
    [InlineData("/v1/chat/completions", """{"messages":[{"role":"user","content":"hi"}],"n":8,"stream":true}""", "8")]
    [InlineData("/v1/completions", """{"prompt":"hi","n":5}""", "5")]
    public async Task N_AboveTheCap_400ParamNNamingTheCapTheSlotsAndTheSetting(string path, string body, string given)
    {
        using var response = await server.Http.SendAsync(server.Post(path, body));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("error");
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        Assert.Equal("n", error.GetProperty("param").GetString());
        Assert.Equal($"'n' must be in [1, 4] (given {given}): one request may hold at most 4 of the 8 KV cache slots, set by MaxSeqsPerRequest (--max-seqs-per-request, QWEN_MAX_SEQS_PER_REQUEST)", error.GetProperty("message").GetString());
        Assert.Equal(0, server.Model.Engine.GetStats().SlotsUsed + server.Model.Engine.GetStats().Waiting);
    }

    [Fact]
    public async Task SmallRequest_SlotsFullAndABigRequestQueued_AdmittedAtTheNextFreeSlot()
    {
        var engine = server.Model.Engine;
        // Long answers: the scripted model's end token repeated (ignore_eos), 400 of them, a few milliseconds a step.
        static string Long(bool stream) => $$"""{"messages":[{"role":"user","content":"long"}],"n":4,"max_tokens":400,"ignore_eos":true,"stream":{{(stream ? "true" : "false")}}}""";
        server.Runner.StepDelay = TimeSpan.FromMilliseconds(2);
        using var leave = new CancellationTokenSource();
        try
        {
            var a = await server.Http.SendAsync(server.Post("/v1/chat/completions", Long(stream: true)), HttpCompletionOption.ResponseHeadersRead);
            Assert.Equal(HttpStatusCode.OK, a.StatusCode);
            await SpinUntil(() => engine.GetStats().SlotsUsed == 4);
            var b = server.Http.SendAsync(server.Post("/v1/chat/completions", Long(stream: false)), leave.Token);
            await SpinUntil(() => engine.GetStats().SlotsUsed == 8);
            var c = server.Http.SendAsync(server.Post("/v1/chat/completions", Long(stream: false)), leave.Token);
            await SpinUntil(() => engine.GetStats().Waiting == 4);
            var small = server.Http.SendAsync(server.Post("/v1/chat/completions", """{"messages":[{"role":"user","content":"small"}],"max_tokens":1}"""));
            await SpinUntil(() => engine.GetStats().Waiting == 5);

            // A's client leaves: its 4 slots free at once. Arrival order alone would give all 4 to C, so the small request
            // would wait for B to finish its 400 tokens (hundreds of steps); fair share gives it the second slot. Steps, not time.
            a.Dispose();
            await SpinUntil(() => engine.GetStats().Waiting < 5); // A's slots were handed out (the client may take a while to close)
            var before = engine.GetStats().Steps;
            using (var answer = await small)
            {
                Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
            }
            var steps = engine.GetStats().Steps - before;
            Assert.False(b.IsCompleted || c.IsCompleted, "B or C ended before the small request did");
            Assert.True(steps < 100, $"the small request took {steps} engine steps after A's slots were handed out");
            await leave.CancelAsync();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Task.WhenAll(b, c));
        }
        finally
        {
            server.Runner.StepDelay = TimeSpan.Zero;
        }
        await SpinUntil(() => engine.GetStats() is { SlotsUsed: 0, Waiting: 0 });
    }

    private static async Task SpinUntil(Func<bool> condition)
    {
        for (var i = 0; i < 1000 && !condition(); i++)
        {
            await Task.Delay(10);
        }
        Assert.True(condition());
    }

    /// <summary>The scripted server with 8 slots and the default MaxSeqsPerRequest.</summary>
    public sealed class EightSlots() : ScriptedServerFixture(["--max-num-seqs", "8", "--max-waiting", "16"]);
}
