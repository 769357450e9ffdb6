using System.Diagnostics;
using System.Text;
using System.Text.Json;

namespace Qwen.Bench.Load;

/// <summary>
/// The full soak: thousands of mixed requests (streaming and not, chat and text completions, n=2 with stop strings,
/// streams abandoned mid-way, tokenize) at a fixed concurrency, sampling the server's process figures every few seconds.
/// </summary>
internal static class SoakRun
{
    public static async Task<int> RunAsync(HttpClient http, StreamingClient client, int requests, int concurrency, double sampleSeconds, string? outPath)
    {
        var sw = Stopwatch.StartNew();
        var samples = new List<ServerProcessSample> { await ServerProcessSample.ReadAsync(http, 0) };
        Console.WriteLine($"soak: {requests} mixed requests at concurrency {concurrency}");
        Console.WriteLine(samples[0]);
        var errors = new Dictionary<string, int>();
        var next = 0;
        using var sampling = new CancellationTokenSource();
        var sampler = Task.Run(async () =>
        {
            while (!sampling.IsCancellationRequested)
            {
                try
                {
                    await Task.Delay(TimeSpan.FromSeconds(sampleSeconds), sampling.Token);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
                var s = await ServerProcessSample.ReadAsync(http, sw.Elapsed.TotalSeconds);
                lock (samples)
                {
                    samples.Add(s);
                }
                Console.WriteLine($"{s}  ({Volatile.Read(ref next)} sent)");
            }
        });
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async worker =>
        {
            var random = new Random(1000 + worker);
            while (Interlocked.Increment(ref next) <= requests)
            {
                var error = await OneAsync(http, client, random);
                if (error is not null)
                {
                    lock (errors)
                    {
                        errors[error] = errors.GetValueOrDefault(error) + 1;
                    }
                }
            }
        }));
        await sampling.CancelAsync();
        await sampler;
        await Task.Delay(2000); // let the last cancelled streams release their slots
        var last = await ServerProcessSample.ReadAsync(http, sw.Elapsed.TotalSeconds);
        samples.Add(last);
        var first = samples[0];
        var steady = samples.Count > 2 ? samples[1] : first; // after warm-up: the first sample under load
        Console.WriteLine(last);
        Console.WriteLine($"soak done: {requests} requests in {sw.Elapsed.TotalSeconds:F0} s, errors: {(errors.Count == 0 ? "0" : string.Join(", ", errors.Select(e => $"{e.Key}: {e.Value}")))}");
        Console.WriteLine($"RSS {first.WorkingSetBytes / 1048576:F1} MiB at start, {steady.WorkingSetBytes / 1048576:F1} MiB at the first sample under load, {last.WorkingSetBytes / 1048576:F1} MiB at the end, max {samples.Max(s => s.WorkingSetBytes) / 1048576:F1} MiB; " +
            $"threads {first.Threads} -> {last.Threads} (max {samples.Max(s => s.Threads)}); handles {first.OpenHandles} -> {last.OpenHandles} (max {samples.Max(s => s.OpenHandles)}); running {last.Running}, waiting {last.Waiting} at the end");
        if (outPath is not null)
        {
            await File.WriteAllTextAsync(outPath, JsonSerializer.Serialize(new { requests, concurrency, seconds = sw.Elapsed.TotalSeconds, errors, samples }, new JsonSerializerOptions { WriteIndented = true }));
        }
        return errors.Count == 0 ? 0 : 1;
    }

    private static async Task<string?> OneAsync(HttpClient http, StreamingClient client, Random random)
    {
        var maxTokens = 1 + random.Next(32);
        switch (random.Next(6))
        {
            case 0:
            case 1:
                var r = await client.RunAsync($"soak question {random.Next()}", maxTokens, CancellationToken.None);
                return r.Error;
            case 2:
                using (var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(random.Next(1, 200))))
                {
                    // Abandoned mid-way on purpose: not an error, the server must simply free the slot.
                    await client.RunAsync("a stream the client walks away from", 200, cts.Token);
                    return null;
                }
            case 3:
                return await PostAsync(http, "v1/chat/completions", JsonSerializer.Serialize(new { model = client.Model, messages = new[] { new { role = "user", content = "two answers" } }, n = 2, max_tokens = maxTokens, stop = new[] { "\n", "." } }));
            case 4:
                return await PostAsync(http, "v1/completions", JsonSerializer.Serialize(new { model = client.Model, prompt = "Once upon a time", max_tokens = maxTokens, temperature = 0.8, seed = random.Next() }));
            default:
                return await PostAsync(http, "tokenize", JsonSerializer.Serialize(new { prompt = "count these tokens" }));
        }
    }

    private static async Task<string?> PostAsync(HttpClient http, string path, string json)
    {
        try
        {
            using var response = await http.PostAsync(path, new StringContent(json, Encoding.UTF8, "application/json"));
            await response.Content.ReadAsStringAsync();
            return response.IsSuccessStatusCode ? null : $"{path} http {(int)response.StatusCode}";
        }
        catch (Exception e) when (e is HttpRequestException or IOException or TaskCanceledException)
        {
            return $"{path} {e.GetType().Name}";
        }
    }
}
