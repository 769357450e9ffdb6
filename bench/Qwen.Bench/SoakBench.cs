using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using Qwen.Bench.Load;
using Qwen.Bench.Pool;

namespace Qwen.Bench;

/// <summary>
/// Soak of clients that never read: the server's memory must stay bounded and its slots must come back. Usage:
/// <code>
/// soak [--streams 16] [--n 8] [--top-logprobs 20] [--max-tokens 3000] [--duration 60] [--quick yes] [--receive-buffer 4096]
///      [--url http://127.0.0.1:8000 | --server-dll PATH] [--server-args "--max-num-seqs 16 ..."] [--out soak.json]
/// </code>
/// Without --url it starts the server (the built Qwen.Server.dll, demo model) on a free port with --max-num-seqs 16 (so
/// n = 8 is within the per-request share of slots) and reads its RSS from /proc (peak: VmHWM, reset after the
/// baseline); with --url it samples process_working_set_bytes from /metrics instead. Each stream is a streaming chat
/// completion with n choices and logprobs, ignore_eos, sent on a socket with a small SO_RCVBUF whose body is never read.
/// Reports baseline RSS, peak RSS and peak - baseline (target within 64 MB), the statuses received (200, 429, 400),
/// client_too_slow outcomes, and the slots still used after the clients close (target: none).
/// </summary>
internal static class SoakBench
{
    /// <summary>The server settings of a started soak: 16 slots, so that n = 8 is at most half of them; the rest are defaults.</summary>
    public const string DefaultServerArgs = "--max-num-seqs 16";

    public static async Task<int> RunAsync(string[] args)
    {
        var a = new BenchArgs(args);
        var quick = a.Get("quick", "no") == "yes";
        var streams = a.Int("streams", 16);
        var n = a.Int("n", 8);
        var topLogprobs = a.Int("top-logprobs", 20);
        var maxTokens = a.Int("max-tokens", 3000);
        var duration = TimeSpan.FromSeconds(a.Double("duration") ?? (quick ? 20 : 60));
        var receiveBuffer = a.Int("receive-buffer", 4096);
        var url = a.Get("url", "");
        var (dll, serverArgs) = (a.Get("server-dll", DefaultServerDll()), a.Get("server-args", DefaultServerArgs));
        using var server = url.Length > 0 ? null : Replica.Start(dll, serverArgs.Split(' ', StringSplitOptions.RemoveEmptyEntries), echoErrors: true);
        if (server is not null)
        {
            url = server.Url.ToString();
            Console.WriteLine($"started the server: dotnet {dll} --urls {url} {serverArgs}");
            await server.WaitReadyAsync(TimeSpan.FromMinutes(5));
        }
        return await SoakAsync(a, server, url, streams, n, topLogprobs, maxTokens, duration, receiveBuffer);
    }

    private static async Task<int> SoakAsync(BenchArgs a, Replica? server, string url, int streams, int n, int topLogprobs, int maxTokens, TimeSpan duration, int receiveBuffer)
    {
        var baseUri = new Uri(url.TrimEnd('/') + "/");
        using var http = new HttpClient { BaseAddress = baseUri, Timeout = TimeSpan.FromSeconds(180) };
        await WaitReadyAsync(http);
        var model = (await http.GetFromJsonAsync<JsonElement>("v1/models")).GetProperty("data")[0].GetProperty("id").GetString()!;

        // Warm up the path under test (logprobs, n choices, streaming) on every slot at once, read in full, so the buffers a
        // full decode batch touches (logits rows, ONNX Runtime's arena, samplers) are in the baseline: the soak measures
        // what held output costs, not the first full batch. They run as long as a soak stream can before the engine cuts it
        // (--warm-tokens, default MaxClientLag 512 plus what the socket buffers took, 768): the attention work and ONNX
        // Runtime's arena grow with the context, and that is the engine's memory at this length, not what clients pin.
        var warmTokens = a.Int("warm-tokens", 768);
        var slotsTotal = (await ReadyAsync(http)).SlotsTotal;
        var warm = JsonSerializer.Serialize(new { model, messages = new[] { new { role = "user", content = "warm up" } }, n, max_tokens = warmTokens, ignore_eos = true, logprobs = true, top_logprobs = topLogprobs, stream = true });
        await Task.WhenAll(Enumerable.Range(0, Math.Max(1, slotsTotal / n)).Select(async _ =>
        {
            using var response = await http.PostAsync("v1/chat/completions", new StringContent(warm, System.Text.Encoding.UTF8, "application/json"));
            await response.Content.ReadAsStringAsync();
        }));
        await Task.Delay(1000);
        var baselineBytes = await Rss(server, http);
        ResetPeak(server);
        var slowBefore = await MetricAsync(http, "qwen_requests_finished_total{finish_reason=\"client_too_slow\"}");
        Console.WriteLine($"soak: {streams} never-read streams, n = {n}, top_logprobs {topLogprobs}, max_tokens {maxTokens}, {duration.TotalSeconds:F0} s, SO_RCVBUF {receiveBuffer}; server {url}");
        Console.WriteLine($"baseline RSS {baselineBytes / 1048576.0:F1} MiB");

        var sw = Stopwatch.StartNew();
        var body = JsonSerializer.Serialize(new { model, messages = new[] { new { role = "user", content = "write a very long story" } }, n, max_tokens = maxTokens, ignore_eos = true, logprobs = true, top_logprobs = topLogprobs, stream = true });
        using var stop = new CancellationTokenSource(duration);
        var opened = await Task.WhenAll(Enumerable.Range(0, streams).Select(_ => NeverReadingStream.OpenAsync(baseUri, "/v1/chat/completions", body, receiveBuffer, stop.Token)));
        var statuses = opened.GroupBy(s => s.Status).OrderBy(g => g.Key).ToDictionary(g => g.Key, g => g.Count());
        Console.WriteLine($"statuses: {string.Join(", ", statuses.Select(s => $"{s.Key}: {s.Value}"))}");
        var samples = new List<(double Seconds, double Rss, double Managed, double Held, double SlotsUsed)>();
        while (!stop.IsCancellationRequested)
        {
            var rss = await Rss(server, http);
            var managed = await MetricAsync(http, "dotnet_total_memory_bytes");
            var held = await MetricAsync(http, "qwen_sequences_held");
            var slots = (await ReadyAsync(http)).SlotsUsed;
            samples.Add((sw.Elapsed.TotalSeconds, rss, managed, held, slots));
            if (samples.Count % 5 == 1)
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"t={sw.Elapsed.TotalSeconds,5:F0}s RSS {rss / 1048576,7:F1} MiB, managed heap {managed / 1048576,6:F1} MiB, sequences held {held}, slots used {slots}"));
            }
            await Task.Delay(1000, CancellationToken.None);
        }
        foreach (var s in opened)
        {
            s.Dispose();
        }
        // The clients are gone: every slot must come back (polled, not timed).
        var settle = Stopwatch.StartNew();
        var end = await ReadyAsync(http);
        while (end.SlotsUsed > 0 && settle.Elapsed < TimeSpan.FromSeconds(30))
        {
            await Task.Delay(200);
            end = await ReadyAsync(http);
        }
        var peak = Math.Max(samples.Max(s => s.Rss), server is null ? 0 : PeakRss(server));
        var slow = await MetricAsync(http, "qwen_requests_finished_total{finish_reason=\"client_too_slow\"}") - slowBefore;
        var heldEnd = await MetricAsync(http, "qwen_sequences_held");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"baseline RSS {baselineBytes / 1048576:F1} MiB, peak {peak / 1048576:F1} MiB, peak - baseline {(peak - baselineBytes) / 1048576:F1} MiB (target <= 64)"));
        Console.WriteLine($"statuses: {string.Join(", ", statuses.Select(s => $"{s.Key}: {s.Value}"))} (429: queue full, 400: refused)");
        Console.WriteLine($"client_too_slow: {slow} choices ({slow / n:F0} requests); most sequences held {samples.Max(s => s.Held)}, most slots used {samples.Max(s => s.SlotsUsed)}");
        Console.WriteLine($"after the clients closed: slots used {end.SlotsUsed} of {end.SlotsTotal} ({settle.Elapsed.TotalSeconds:F1} s to settle), running {end.Running}, waiting {end.Waiting}, sequences held {heldEnd}");
        if (a.Get("out", "") is { Length: > 0 } outPath)
        {
            await File.WriteAllTextAsync(outPath, JsonSerializer.Serialize(new
            {
                streams,
                n,
                topLogprobs,
                maxTokens,
                seconds = duration.TotalSeconds,
                receiveBuffer,
                baselineBytes,
                peakBytes = peak,
                statuses = statuses.ToDictionary(s => s.Key.ToString(CultureInfo.InvariantCulture), s => s.Value),
                clientTooSlowChoices = slow,
                slotsUsedAtEnd = end.SlotsUsed,
                slotsTotal = end.SlotsTotal,
                samples = samples.Select(s => new { s.Seconds, s.Rss, s.Managed, s.Held, s.SlotsUsed }),
            }, new JsonSerializerOptions { WriteIndented = true }));
        }
        var pass = peak - baselineBytes <= 64 * 1048576.0 && end.SlotsUsed == 0;
        Console.WriteLine(pass ? "soak PASS" : "soak FAIL");
        return pass ? 0 : 1;
    }

    /// <summary>The Release build of Qwen.Server in this checkout (`dotnet build src/Qwen.Server -c Release`).</summary>
    internal static string DefaultServerDll()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Qwen.Server.sln")))
            {
                return Path.Combine(dir.FullName, "src", "Qwen.Server", "bin", "Release", "net10.0", "Qwen.Server.dll");
            }
        }
        return "Qwen.Server.dll";
    }

    /// <summary>Waits for a server given by --url (a started one is ready already) to answer /health/ready.</summary>
    private static async Task WaitReadyAsync(HttpClient http)
    {
        var sw = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                if ((await http.GetAsync("health/ready")).IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException) when (sw.Elapsed < TimeSpan.FromMinutes(5))
            {
            }
            await Task.Delay(250);
        }
    }

    private static async Task<(int Running, int Waiting, int SlotsUsed, int SlotsTotal)> ReadyAsync(HttpClient http)
    {
        var ready = await http.GetFromJsonAsync<JsonElement>("health/ready");
        return (ready.GetProperty("running").GetInt32(), ready.GetProperty("waiting").GetInt32(), ready.GetProperty("kv_slots_used").GetInt32(), ready.GetProperty("kv_slots_total").GetInt32());
    }

    private static async Task<double> MetricAsync(HttpClient http, string series)
    {
        var text = await http.GetStringAsync("metrics");
        foreach (var line in text.Split('\n'))
        {
            if (line.StartsWith(series + " ", StringComparison.Ordinal))
            {
                return double.Parse(line[(series.Length + 1)..], CultureInfo.InvariantCulture);
            }
        }
        return 0;
    }

    /// <summary>The server's resident set: from /proc when this bench started it, else its own process_working_set_bytes.</summary>
    private static async Task<double> Rss(Replica? server, HttpClient http)
        => server is not null ? Status(server, "VmRSS:") : await MetricAsync(http, "process_working_set_bytes");

    /// <summary>VmHWM: the resident set's high-water mark since <see cref="ResetPeak"/>, so no spike between samples is missed.</summary>
    private static double PeakRss(Replica server) => Status(server, "VmHWM:");

    private static void ResetPeak(Replica? server)
    {
        if (server is not null)
        {
            File.WriteAllText($"/proc/{server.ProcessId}/clear_refs", "5"); // 5: reset the peak RSS (Linux 4.0+)
        }
    }

    private static double Status(Replica server, string field)
    {
        var line = File.ReadLines($"/proc/{server.ProcessId}/status").First(l => l.StartsWith(field, StringComparison.Ordinal));
        return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024.0;
    }
}
