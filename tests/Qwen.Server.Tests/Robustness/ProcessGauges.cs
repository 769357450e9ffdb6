using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;

namespace Qwen.Server.Tests.Robustness;

/// <summary>
/// What this process holds: the fixtures host the server in-process (Kestrel, engine and ONNX Runtime run here), so
/// these are the server's figures plus the test runner's. Resident set (VmRSS: native memory such as ONNX Runtime's
/// arenas and the KV cache included), managed heap after a full collection, threads, and open file descriptors
/// (sockets included).
/// </summary>
internal readonly record struct ProcessGauges(long RssBytes, long ManagedBytes, int Threads, int FileDescriptors)
{
    /// <summary>
    /// Growth allowed over a storm or soak, for the whole test process, after a warm-up of every request kind.
    /// RSS 64 MiB: the glibc heap and ONNX Runtime's arenas keep some freed memory (measured: -25 to +17 MiB over the
    /// storm and the soak); a leak of 160 KiB per request of a 400-request soak would cross it. Managed heap 32 MiB
    /// after a full collection (measured: about +1 MiB). Threads 16: the thread pool may add a few under load
    /// (measured: up to +9). Descriptors 32: connections are closed by then (measured: 0 to +8); a leaked socket per
    /// request would add hundreds. A leaked KV slot does not grow memory (the cache is allocated once): the idle
    /// checks on /metrics and the engine catch that instead.
    /// </summary>
    public const long RssBoundBytes = 64L << 20, ManagedBoundBytes = 32L << 20;

    /// <inheritdoc cref="RssBoundBytes"/>
    public const int ThreadBound = 16, FileDescriptorBound = 32;

    /// <summary>The bounds, for the summary line.</summary>
    public static string Bounds => $"bounds RSS {RssBoundBytes >> 20} MiB, managed {ManagedBoundBytes >> 20} MiB, threads {ThreadBound}, fds {FileDescriptorBound}";

    public static ProcessGauges Read()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        var managed = GC.GetTotalMemory(forceFullCollection: true);
        using var self = Process.GetCurrentProcess();
        var rss = self.WorkingSet64; // VmRSS on Linux
        var threads = self.Threads.Count;
        var fds = Directory.Exists("/proc/self/fd") ? Directory.GetFiles("/proc/self/fd").Length : self.HandleCount;
        return new ProcessGauges(rss, managed, threads, fds);
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"RSS {RssBytes / 1048576.0:F1} MiB, managed {ManagedBytes / 1048576.0:F1} MiB, {Threads} threads, {FileDescriptors} fds");

    /// <summary>Growth from <paramref name="before"/> to this reading, one line.</summary>
    public string Growth(ProcessGauges before) => string.Create(CultureInfo.InvariantCulture,
        $"RSS {(RssBytes - before.RssBytes) / 1048576.0:+0.0;-0.0} MiB, managed {(ManagedBytes - before.ManagedBytes) / 1048576.0:+0.0;-0.0} MiB, threads {Threads - before.Threads:+0;-0;0}, fds {FileDescriptors - before.FileDescriptors:+0;-0;0}");

    /// <summary>Asserts the growth from <paramref name="before"/> stays within the bounds.</summary>
    public void AssertWithinBounds(ProcessGauges before)
    {
        Assert.True(RssBytes - before.RssBytes < RssBoundBytes, $"RSS grew from {before.RssBytes} to {RssBytes} bytes");
        Assert.True(ManagedBytes - before.ManagedBytes < ManagedBoundBytes, $"managed heap grew from {before.ManagedBytes} to {ManagedBytes} bytes");
        Assert.True(Threads - before.Threads <= ThreadBound, $"threads grew from {before.Threads} to {Threads}");
        Assert.True(FileDescriptors - before.FileDescriptors <= FileDescriptorBound, $"descriptors grew from {before.FileDescriptors} to {FileDescriptors}");
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
