using Qwen.Server.Tests.Robustness;

namespace Qwen.Server.Tests.Observability;

/// <summary>
/// prometheus-net's registry is process-wide: with two servers in one process (as in these tests) the engine gauges must
/// be their sum, and a stopped server must drop out, never leave whichever engine scraped last to speak for both.
/// Runs alone: other test servers' sequences would add to the sums.
/// </summary>
[Collection(RobustnessCollection.Name)]
public sealed class MetricsRegistryTests
{
    [Fact]
    public async Task TwoServersInOneProcess_GaugesAreTheirSum_AndAStoppedOneDropsOut()
    {
        var busy = new ScriptedServerFixture();
        var idle = new ServerFixture();
        await busy.InitializeAsync();
        await idle.InitializeAsync();
        try
        {
            var gate = busy.ScriptPaused("metrics-registry-key", " one two three", pauseBefore: 1);
            var request = busy.Http.SendAsync(busy.Post("/v1/chat/completions", """{"messages":[{"role":"user","content":"metrics-registry-key"}]}"""));
            await gate.Reached.WaitAsync(TimeSpan.FromSeconds(60));

            // The idle server registered its gauges last; the busy server's running sequence must still show on either.
            Assert.Equal(1, (await MetricsSnapshot.ReadAsync(idle.Http)).Running);
            Assert.Equal(1, (await MetricsSnapshot.ReadAsync(busy.Http)).Running);
            Assert.True((await MetricsSnapshot.ReadAsync(idle.Http)).KvTokensUsed > 0);

            gate.Open();
            using var response = await request;
            Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
            await busy.DisposeAsync();
            busy = null;
            Assert.Equal(0, (await MetricsSnapshot.ReadAsync(idle.Http)).Running);
            Assert.Equal(0, (await MetricsSnapshot.ReadAsync(idle.Http)).KvTokensUsed);
        }
        finally
        {
            if (busy is not null)
            {
                await busy.DisposeAsync();
            }
            await idle.DisposeAsync();
        }
    }
}
