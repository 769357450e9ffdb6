using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;

namespace Qwen.Server.Tests.Robustness;

/// <summary>What the test process holds (managed heap after a full collection, threads, open file descriptors) and the server's own counts.</summary>
internal readonly record struct ProcessGauges(long ManagedBytes, int Threads, int FileDescriptors)
{
    public static ProcessGauges Read()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        using var self = Process.GetCurrentProcess();
        var fds = Directory.Exists("/proc/self/fd") ? Directory.GetFiles("/proc/self/fd").Length : self.HandleCount;
        return new ProcessGauges(GC.GetTotalMemory(forceFullCollection: true), self.Threads.Count, fds);
    }

    public override string ToString() => $"managed {ManagedBytes / 1048576.0:F1} MiB, {Threads} threads, {FileDescriptors} fds";

    /// <summary>Polls /health/ready until nothing runs, waits or holds a KV slot; returns the last body seen.</summary>
    public static async Task<JsonElement> WaitIdleAsync(HttpClient http, TimeSpan limit)
    {
        var until = Stopwatch.GetTimestamp() + (long)(limit.TotalSeconds * Stopwatch.Frequency);
        JsonElement body;
        do
        {
            body = await http.GetFromJsonAsync<JsonElement>("/health/ready");
            if (body.GetProperty("running").GetInt32() == 0 && body.GetProperty("waiting").GetInt32() == 0 && body.GetProperty("kv_slots_used").GetInt32() == 0)
            {
                return body;
            }
            await Task.Delay(50);
        }
        while (Stopwatch.GetTimestamp() < until);
        return body;
    }

    /// <summary>A normal request that must succeed after the abuse.</summary>
    public static async Task AssertServesNormalRequestAsync(HttpClient http)
    {
        using var response = await http.PostAsync("/v1/chat/completions", new StringContent(SseStream.ChatBody("Hello after the storm", 3, stream: false), System.Text.Encoding.UTF8, "application/json"));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, text);
        using var doc = JsonDocument.Parse(text);
        Assert.Equal(3, doc.RootElement.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
    }
}
