using System.Text;
using System.Text.Json;
using Xunit.Abstractions;

namespace Qwen.Server.Tests.Robustness;

/// <summary>A reduced soak (the full one is `Qwen.Bench soak`): mixed requests, no errors, no growth of memory, threads or handles.</summary>
[Collection(RobustnessCollection.Name)]
public sealed class SoakTests(LimitedServerFixture server, ITestOutputHelper output) : IClassFixture<LimitedServerFixture>
{
    private const int Requests = 300;
    private const int Concurrency = 6;

    /// <summary>Bounds on growth over the run, for the whole test process: heap after a full collection, threads (the thread pool may add a few), descriptors.</summary>
    private const long MemoryBoundBytes = 32L << 20;
    private const int ThreadBound = 16;
    private const int FileDescriptorBound = 32;

    [Fact]
    public async Task MixedRequests_Soak_NoErrorsAndNoGrowth()
    {
        var random = new Random(99);
        // Warm up every kind once so lazily created pools and caches are in the baseline.
        for (var k = 0; k < 5; k++)
        {
            Assert.Null(await RunAsync(k, random));
        }
        var before = ProcessGauges.Read();
        var kinds = Enumerable.Range(0, Requests).Select(_ => random.Next(5)).ToList();
        var errors = new List<string>();
        using var gate = new SemaphoreSlim(Concurrency);
        await Task.WhenAll(kinds.Select(async kind =>
        {
            await gate.WaitAsync();
            try
            {
                if (await RunAsync(kind, new Random(kind * 7919)) is { } error)
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
        await ProcessGauges.WaitIdleAsync(server.Http, TimeSpan.FromSeconds(10));
        var after = ProcessGauges.Read();
        output.WriteLine($"{Requests} mixed requests at concurrency {Concurrency}, {errors.Count} errors; before: {before}; after: {after}");
        Assert.Empty(errors);
        Assert.True(after.ManagedBytes - before.ManagedBytes < MemoryBoundBytes, $"managed heap grew from {before.ManagedBytes} to {after.ManagedBytes}");
        Assert.True(after.Threads - before.Threads <= ThreadBound, $"threads grew from {before.Threads} to {after.Threads}");
        Assert.True(after.FileDescriptors - before.FileDescriptors <= FileDescriptorBound, $"descriptors grew from {before.FileDescriptors} to {after.FileDescriptors}");
    }

    /// <summary>One request of a kind; null if it went right, else what went wrong.</summary>
    private async Task<string?> RunAsync(int kind, Random random)
    {
        var maxTokens = 1 + random.Next(12);
        switch (kind)
        {
            case 0:
            case 1:
                var stream = await SseStream.RunAsync(server.Http, SseStream.ChatBody($"soak {random.Next()}", maxTokens, stream: true, ignoreEos: kind == 0), CancellationToken.None);
                return stream.Status == 200 && stream.Done && !stream.HasErrorEvent ? null : $"stream: {stream.Status} {stream.ErrorBody} {string.Join('|', stream.Events.TakeLast(2))}";
            case 2:
                return await PostAsync("/v1/chat/completions", JsonSerializer.Serialize(new { messages = new[] { new { role = "user", content = "two answers" } }, n = 2, max_tokens = maxTokens, stop = new[] { "\n", "." } }), "choices");
            case 3:
                return await PostAsync("/v1/completions", JsonSerializer.Serialize(new { prompt = "Once upon a time", max_tokens = maxTokens, temperature = 0.8, seed = random.Next() }), "choices");
            default:
                return await PostAsync("/tokenize", JsonSerializer.Serialize(new { prompt = "count these tokens" }), "tokens");
        }
    }

    private async Task<string?> PostAsync(string path, string json, string field)
    {
        using var response = await server.Http.PostAsync(path, new StringContent(json, Encoding.UTF8, "application/json"));
        var text = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode)
        {
            return $"{path}: {(int)response.StatusCode} {text}";
        }
        using var doc = JsonDocument.Parse(text);
        return doc.RootElement.TryGetProperty(field, out _) ? null : $"{path}: no '{field}' in {text}";
    }
}
