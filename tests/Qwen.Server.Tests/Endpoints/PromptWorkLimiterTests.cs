using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Qwen.Server.Endpoints;

namespace Qwen.Server.Tests.Endpoints;

/// <summary>
/// The limit on concurrent render/tokenize work, through real sockets: with the one slot taken and the one waiting place
/// filled, every endpoint that renders or tokenizes answers 429 with Retry-After; a client that sends a huge prompt and
/// leaves while it is tokenized frees the slot, its encode cancelled part-way.
/// </summary>
public sealed class PromptWorkLimiterTests(PromptWorkLimiterTests.Fixture server) : IClassFixture<PromptWorkLimiterTests.Fixture>
{
    /// <summary>The prompt-work server with room for a 32 MB body: a prompt that takes the tokenizer several seconds.</summary>
    public sealed class Fixture() : PromptWorkServerFixture(["--max-request-body-bytes", $"{32 << 20}"]);

    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60); // an upper bound for a slow CI box, never a measurement

    private PromptWorkLimiter Limiter => server.App.Services.GetRequiredService<PromptWorkLimiter>();

    [Fact]
    public async Task SlotTakenAndWaitingFull_EveryPromptEndpoint_429WithRetryAfter_ThenTheWaiterIsServed()
    {
        Assert.Equal(1, Limiter.Limit);
        using var gate = new ManualResetEventSlim();
        var hold = Task.Run(() => Limiter.RunAsync(() => gate.Wait(Patience), CancellationToken.None));
        await Until(() => Limiter.Active == 1);
        var waiter = server.Http.PostAsync("/tokenize", Json(new { prompt = "hello" }));
        await Until(() => Limiter.Waiting == 1);
        try
        {
            foreach (var (path, body) in new (string, object)[]
            {
                ("/v1/chat/completions", new { messages = new[] { new { role = "user", content = "hi" } }, max_tokens = 1 }),
                ("/v1/chat/completions", new { messages = new[] { new { role = "user", content = "hi" } }, max_tokens = 1, stream = true }),
                ("/v1/completions", new { prompt = "hi", max_tokens = 1 }),
                ("/v1/responses", new { input = "hi", max_output_tokens = 1 }),
                ("/tokenize", new { messages = new[] { new { role = "user", content = "hi" } } }),
            })
            {
                using var response = await server.Http.PostAsync(path, Json(body));
                Assert.True(response.StatusCode == HttpStatusCode.TooManyRequests, $"{path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
                Assert.Equal("1", response.Headers.GetValues("Retry-After").Single());
                var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("error");
                Assert.Equal("rate_limit_error", error.GetProperty("type").GetString());
                Assert.Contains("--max-concurrent-prompts", error.GetProperty("message").GetString(), StringComparison.Ordinal);
                Assert.True(error.TryGetProperty("param", out _) && error.TryGetProperty("code", out _));
            }
        }
        finally
        {
            gate.Set();
            await hold;
        }
        using var served = await waiter;
        Assert.Equal(HttpStatusCode.OK, served.StatusCode);
        await Until(() => Limiter.Active == 0);
    }

    [Fact]
    public async Task ClientLeavesWhileItsHugePromptIsTokenized_SlotFreed_EncodeCancelledPartWay()
    {
        var tokenizer = server.Model.Tokenizer;
        var (started, cancelled) = (tokenizer.EncodeCount, tokenizer.CancelledEncodeCount);
        var random = new Random(11);
        // Random words, not a few repeated ones: the tokenizer caches a word's pieces, and three words repeated encoded so fast
        // that the request was sometimes over before this test saw it running (flaky on a loaded machine). Four million of
        // them take the tokenizer about 8 s on an idle machine, so a starved test thread still closes in time.
        var prompt = string.Concat(Enumerable.Range(0, 4_000_000).Select(_ => " " + new string(Enumerable.Range(0, random.Next(3, 9)).Select(_ => (char)('a' + random.Next(26))).ToArray())));
        var body = JsonSerializer.SerializeToUtf8Bytes(new { prompt }); // /tokenize has no length check: all of it is tokenized
        using (var client = new TcpClient())
        {
            await client.ConnectAsync(server.BaseAddress.Host, server.BaseAddress.Port);
            var stream = client.GetStream();
            await stream.WriteAsync(Encoding.ASCII.GetBytes($"POST /tokenize HTTP/1.1\r\nHost: {server.BaseAddress.Authority}\r\nContent-Type: application/json\r\nContent-Length: {body.Length}\r\n\r\n"));
            await stream.WriteAsync(body);
            await stream.FlushAsync();
            // The server is tokenizing it: a count that only grows, where waiting for the limiter's slot to be taken could
            // miss a window (this failed once in CI, the test's thread starved while the encode ran and finished).
            await Until(() => tokenizer.EncodeCount > started);
            Assert.Equal(1, Limiter.Active);
        }
        await Until(() => Limiter.Active == 0);
        Assert.Equal(cancelled + 1, tokenizer.CancelledEncodeCount);
        Assert.Equal(started + 1, tokenizer.EncodeCount);
    }

    [Fact]
    public async Task Waiter_TokenCancelled_StopsWaitingAndFreesItsPlace()
    {
        var limiter = new PromptWorkLimiter(new Qwen.Server.Hosting.ServerOptions { MaxConcurrentPrompts = 1, MaxNumSeqs = 1, MaxWaiting = 0 });
        using var gate = new ManualResetEventSlim();
        var hold = Task.Run(() => limiter.RunAsync(() => gate.Wait(Patience), CancellationToken.None));
        await Until(() => limiter.Active == 1);
        using var leaving = new CancellationTokenSource();
        var waiter = limiter.RunAsync(() => true, leaving.Token);
        Assert.Equal(1, limiter.Waiting);
        await leaving.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiter);
        Assert.Equal(0, limiter.Waiting);
        var next = limiter.RunAsync(() => true, CancellationToken.None); // the freed place takes a new waiter, not a 429
        Assert.Equal(1, limiter.Waiting);
        gate.Set();
        await hold;
        Assert.True(await next);
        Assert.Equal(0, limiter.Active);
    }

    private static StringContent Json(object body) => new(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json");

    private static async Task Until(Func<bool> condition)
    {
        using var cts = new CancellationTokenSource(Patience);
        while (!condition())
        {
            await Task.Delay(1, cts.Token);
        }
    }
}
