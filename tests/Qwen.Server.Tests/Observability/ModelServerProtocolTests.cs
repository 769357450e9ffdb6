using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;

namespace Qwen.Server.Tests.Observability;

/// <summary>
/// The metrics the Gateway API Inference Extension's Model Server Protocol requires (v1.5.0: queued requests, running
/// requests, KV-cache utilisation as gauges, plus the optional cache layout its prefix scorer reads), scraped from a real
/// server process under load and held against two references: the engine's own counts (/health/ready reads the same
/// engine stats the scrape does, through another path) and this test's own count of the streams it keeps open.
/// </summary>
public sealed class ModelServerProtocolTests
{
    private const int Slots = 2;
    private const int MaxModelLen = 32768;
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task ProtocolGauges_FollowQueuedAndRunningStreams_AndTheEnginesCounts()
    {
        // Each stream asks for nearly a whole slot (ignore_eos), about a minute of decoding for the tiny model here, so
        // nothing finishes by itself while the test counts; a stream leaves only when the test hangs up.
        await using var server = await JsonLoggedServer.StartAsync("--max-model-len", MaxModelLen.ToString(CultureInfo.InvariantCulture), "--max-num-seqs", Slots.ToString(CultureInfo.InvariantCulture));

        var types = (await server.Http.GetStringAsync("/metrics")).Split('\n').Where(l => l.StartsWith("# TYPE ", StringComparison.Ordinal)).ToList();
        foreach (var name in new[] { "qwen_requests_waiting", "qwen_requests_running", "qwen_kv_cache_usage_ratio", "qwen_cache_config_info" })
        {
            Assert.Contains($"# TYPE {name} gauge", types);
        }
        // The layout the prefix scorer sizes itself by: 16-token blocks, and the blocks all slots hold together.
        var idle = await server.MetricsAsync();
        var info = Assert.Single(idle.Keys, k => k.StartsWith("qwen_cache_config_info{", StringComparison.Ordinal));
        Assert.Equal($"qwen_cache_config_info{{block_size=\"16\",num_gpu_blocks=\"{Slots * MaxModelLen / 16}\"}}", info);
        Assert.Equal(1, idle[info]);
        await WaitForAsync(server, active: 0);

        var streams = new List<HttpResponseMessage>();
        try
        {
            for (var i = 0; i < 5; i++)
            {
                var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
                {
                    Content = JsonContent.Create(new { messages = new[] { new { role = "user", content = $"stream {i}" } }, max_tokens = MaxModelLen - 100, ignore_eos = true, stream = true }),
                };
                streams.Add(await server.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead));
            }
            await WaitForAsync(server, active: 5); // 2 running (every slot), 3 queued

            // Hang up one stream at a time, the oldest first: the running ones go, a queued one takes each freed slot.
            for (var active = 4; active >= 0; active--)
            {
                streams[0].Dispose();
                streams.RemoveAt(0);
                await WaitForAsync(server, active);
            }
        }
        finally
        {
            streams.ForEach(s => s.Dispose());
        }
    }

    /// <summary>
    /// Polls until /metrics shows what <paramref name="active"/> open streams must give (running = min(slots, active),
    /// queued = the rest, KV use = running / slots) and /health/ready, read on either side of that scrape with the same
    /// counts both times, agrees with it; fails with the last readings after <see cref="Bound"/>.
    /// </summary>
    private static async Task WaitForAsync(JsonLoggedServer server, int active)
    {
        var (running, waiting) = (Math.Min(Slots, active), Math.Max(0, active - Slots));
        var deadline = DateTime.UtcNow + Bound;
        string last = "";
        while (DateTime.UtcNow < deadline)
        {
            var before = await ReadyAsync(server.Http);
            var scrape = await server.MetricsAsync();
            var after = await ReadyAsync(server.Http);
            var (queued, runningNow, usage) = (scrape["qwen_requests_waiting"], scrape["qwen_requests_running"], scrape["qwen_kv_cache_usage_ratio"]);
            last = $"metrics: queued {queued}, running {runningNow}, kv {usage}; engine: {before} then {after}";
            if (before == after && (queued, runningNow, usage) == (waiting, running, (double)running / Slots))
            {
                Assert.Equal((before.Waiting, before.SlotsUsed), ((int)queued, (int)runningNow));
                Assert.Equal((double)before.SlotsUsed / before.SlotsTotal, usage);
                Assert.Equal(Slots, before.SlotsTotal);
                return;
            }
            await Task.Delay(50);
        }
        throw new TimeoutException($"with {active} open streams /metrics never showed queued {waiting}, running {running} and the engine's same counts; last {last}");
    }

    private static async Task<Ready> ReadyAsync(HttpClient http)
    {
        var body = await http.GetFromJsonAsync<JsonElement>("/health/ready");
        return new Ready(body.GetProperty("waiting").GetInt32(), body.GetProperty("kv_slots_used").GetInt32(), body.GetProperty("kv_slots_total").GetInt32());
    }

    private sealed record Ready(int Waiting, int SlotsUsed, int SlotsTotal);
}
