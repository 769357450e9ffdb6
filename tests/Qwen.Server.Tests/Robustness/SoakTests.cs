using System.Text;
using System.Text.Json;
using Xunit.Abstractions;

namespace Qwen.Server.Tests.Robustness;

/// <summary>
/// A reduced soak (the full one is the bench's `load --soak`): hundreds of mixed requests (chat and text completions,
/// streamed and not, n=2 with stop strings, tokenize/detokenize round trips, streams abandoned mid-way, refused bad
/// requests) with no error, and no growth of resident memory, managed heap, threads or descriptors beyond the bounds
/// stated in <see cref="ProcessGauges.RssBoundBytes"/>.
/// </summary>
[Collection(RobustnessCollection.Name)]
public sealed class SoakTests(LimitedServerFixture server, ITestOutputHelper output) : IClassFixture<LimitedServerFixture>, IDisposable
{
    private const int Requests = 400;
    private const int Kinds = 8;

    /// <summary>Five clients: with n=2 requests at most 10 sequences, inside the fixture's 4 slots + 8 waiting.</summary>
    private const int Concurrency = 5;

    /// <summary>A client that closes the connection when it stops reading (the default one would drain the rest of the stream to reuse it).</summary>
    private readonly HttpClient _walkAway = new(new SocketsHttpHandler { MaxResponseDrainSize = 0 }) { BaseAddress = server.BaseAddress, Timeout = TimeSpan.FromSeconds(60) };

    public void Dispose() => _walkAway.Dispose();

    [Fact]
    public async Task MixedRequests_Soak_NoErrorsAndNoGrowth()
    {
        // Warm up every kind twice so lazily created pools and caches are in the baseline.
        for (var k = 0; k < 2 * Kinds; k++)
        {
            Assert.Null(await RunAsync(k % Kinds, new Random(k)));
        }
        await MetricsSnapshot.WaitIdleAsync(server.Http, server.Model.Engine, TimeSpan.FromSeconds(10));
        var before = ProcessGauges.Read();
        var random = new Random(99);
        var plan = Enumerable.Range(0, Requests).Select(i => (Kind: random.Next(Kinds), Seed: i)).ToList();
        var errors = new List<string>();
        var byKind = new int[Kinds];
        var started = DateTime.UtcNow;
        using var gate = new SemaphoreSlim(Concurrency);
        await Task.WhenAll(plan.Select(async p =>
        {
            await gate.WaitAsync();
            try
            {
                Interlocked.Increment(ref byKind[p.Kind]);
                if (await RunAsync(p.Kind, new Random(p.Seed)) is { } error)
                {
                    lock (errors)
                    {
                        errors.Add(error);
                    }
                }
            }
            finally
            {
                gate.Release();
            }
        }));
        var seconds = (DateTime.UtcNow - started).TotalSeconds;
        var idle = await MetricsSnapshot.WaitIdleAsync(server.Http, server.Model.Engine, TimeSpan.FromSeconds(10));
        var after = ProcessGauges.Read();
        string[] names = ["stream", "stream-fixed", "n2-stop", "completion", "completion-stream", "tokenize-roundtrip", "abandoned", "bad-request"];
        output.WriteLine($"soak: {Requests} mixed requests at concurrency {Concurrency} in {seconds:F0} s ({string.Join(", ", names.Select((n, i) => $"{n} {byKind[i]}"))}); " +
            $"{errors.Count} errors; after: /metrics {idle}; before {before}; after {after}; growth {after.Growth(before)} " +
            $"({ProcessGauges.Bounds})");
        foreach (var e in errors.Take(10))
        {
            output.WriteLine(e);
        }
        Assert.Empty(errors);
        Assert.True(idle.Idle, $"after the soak /metrics shows {idle}");
        Assert.True(MetricsSnapshot.EngineIdle(server.Model.Engine.GetStats()), $"after the soak the engine shows {server.Model.Engine.GetStats()}");
        after.AssertWithinBounds(before);
    }

    /// <summary>One request of a kind; null if it went right, else what went wrong.</summary>
    private async Task<string?> RunAsync(int kind, Random random)
    {
        var maxTokens = 1 + random.Next(12);
        switch (kind)
        {
            case 0:
            case 1:
                var fixedLength = kind == 1;
                var stream = await SseStream.RunAsync(server.Http, SseStream.ChatBody($"soak {random.Next()}", maxTokens, stream: true, ignoreEos: fixedLength, includeUsage: true), CancellationToken.None);
                var ok = stream.Status == 200 && stream.Done && !stream.HasErrorEvent && stream.FinishReason is not null && (!fixedLength || stream.CompletionTokens == maxTokens);
                return ok ? null : $"stream: {stream.Status} {stream.ErrorBody} tokens {stream.CompletionTokens}/{maxTokens} {string.Join('|', stream.Events.TakeLast(2))}";
            case 2:
                return await PostAsync("/v1/chat/completions", JsonSerializer.Serialize(new { messages = new[] { new { role = "user", content = "two answers" } }, n = 2, max_tokens = maxTokens, stop = new[] { "\n", "." } }),
                    root => root.GetProperty("choices").GetArrayLength() == 2);
            case 3:
                return await PostAsync("/v1/completions", JsonSerializer.Serialize(new { prompt = "Once upon a time", max_tokens = maxTokens, temperature = 0.8, seed = random.Next(), ignore_eos = true }),
                    root => root.GetProperty("usage").GetProperty("completion_tokens").GetInt32() == maxTokens);
            case 4:
                using (var response = await server.Http.PostAsync("/v1/completions", Json(JsonSerializer.Serialize(new { prompt = "In a land far away", max_tokens = maxTokens, stream = true }))))
                {
                    var text = await response.Content.ReadAsStringAsync();
                    return response.IsSuccessStatusCode && text.TrimEnd().EndsWith("data: [DONE]", StringComparison.Ordinal) && !text.Contains("data: {\"error\"", StringComparison.Ordinal)
                        ? null : $"completion stream: {(int)response.StatusCode} {text[^Math.Min(200, text.Length)..]}";
                }
            case 5:
                // Round trip: the text back from its own tokens (the tokenizer is byte-level, so any text survives).
                var sample = $"count these tokens {random.Next()} — über 数据 🙂";
                using (var tokenized = await server.Http.PostAsync("/tokenize", Json(JsonSerializer.Serialize(new { prompt = sample }))))
                {
                    var ids = JsonDocument.Parse(await tokenized.Content.ReadAsStringAsync()).RootElement.GetProperty("tokens");
                    using var detokenized = await server.Http.PostAsync("/detokenize", Json(JsonSerializer.Serialize(new { tokens = ids })));
                    var back = JsonDocument.Parse(await detokenized.Content.ReadAsStringAsync()).RootElement.GetProperty("prompt").GetString();
                    return back == sample ? null : $"tokenize round trip: '{sample}' came back as '{back}'";
                }
            case 6:
                // Abandoned after a few events on purpose: not an error, the server must simply free the slot.
                var events = 1 + random.Next(5);
                try
                {
                    await SseStream.RunAsync(_walkAway, SseStream.ChatBody("a stream the client walks away from", 200), CancellationToken.None, n => n < events);
                }
                catch (Exception e) when (e is HttpRequestException or IOException)
                {
                    return $"abandoned stream: {e.Message}";
                }
                return null;
            default:
                using (var response = await server.Http.PostAsync("/v1/chat/completions", Json("""{"messages":[{"role":"wizard","content":"x"}]}""")))
                {
                    return (int)response.StatusCode == 400 ? null : $"bad request answered {(int)response.StatusCode}";
                }
        }
    }

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    private async Task<string?> PostAsync(string path, string json, Func<JsonElement, bool> check)
    {
        using var response = await server.Http.PostAsync(path, Json(json));
        var text = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode)
        {
            return $"{path}: {(int)response.StatusCode} {text}";
        }
        using var doc = JsonDocument.Parse(text);
        return check(doc.RootElement) ? null : $"{path}: unexpected answer {text}";
    }
}
