using System.Diagnostics;
using System.Security.Cryptography;
using Qwen.OnnxExport.Hub;

namespace Qwen.Bench;

/// <summary>
/// Hub download throughput: `download [--preset qwen2.5-0.5b] [--shards 2]`. Writes the preset as a real Qwen2.5 repo
/// (QwenRepoFiles), serves it from the fake Hub in a child process on loopback (so this process's CPU time is the
/// client's alone), downloads it into an empty temporary cache with HubClient, and prints MB/s (wall), the client's
/// CPU seconds, and SHA-256 alone over the same bytes (from memory and from the files) for the share spent hashing.
/// `download --serve DIR` is the child: it serves DIR and prints its endpoint.
/// </summary>
internal static class DownloadBench
{
    private const string RepoId = "Qwen/Qwen2.5-Bench-Instruct";

    public static async Task<int> RunAsync(string[] args)
    {
        var a = new BenchArgs(args);
        if (a.Get("serve", "") is { Length: > 0 } serveDir)
        {
            return await ServeAsync(serveDir);
        }
        var preset = a.Get("preset", "qwen2.5-0.5b");
        var root = Path.Combine(Path.GetTempPath(), $"qwen-download-bench-{Environment.ProcessId}");
        var files = Path.Combine(root, "repo");
        var cache = Path.Combine(root, "cache");
        try
        {
            var watch = Stopwatch.StartNew();
            Qwen.FakeHub.QwenRepoFiles.Write(preset, 1, files, a.Int("shards", 2));
            Console.WriteLine($"wrote {preset} as a Qwen2.5 repo in {watch.Elapsed.TotalSeconds:F1} s; {Environment.ProcessorCount} cores");

            using var server = StartServer(files, out var endpoint);
            using var client = new HubClient(new HubSettings { Endpoint = endpoint, CacheDirectory = cache });
            var revision = await client.ResolveAsync(new HubRepoId(RepoId, HubRepoId.DefaultRevision));
            var bytes = revision.Files.Sum(f => f.Size);

            var me = Process.GetCurrentProcess();
            server.Refresh();
            var serverCpu0 = server.TotalProcessorTime;
            var cpu0 = me.TotalProcessorTime;
            var reports = 0;
            watch.Restart();
            var snapshot = await client.DownloadAsync(revision, new CountingProgress(() => reports++));
            var wall = watch.Elapsed.TotalSeconds;
            me.Refresh();
            server.Refresh();
            var cpu = (me.TotalProcessorTime - cpu0).TotalSeconds;
            var serverCpu = (server.TotalProcessorTime - serverCpu0).TotalSeconds;
            var gb = snapshot.BytesDownloaded / 1e9;
            Console.WriteLine($"download {RepoId} ({revision.Files.Count} files, {bytes / 1e6:F1} MB, {revision.Files.Count(f => f.Sha256 is not null)} LFS) from the fake Hub on loopback:");
            Console.WriteLine($"  wall {wall:F2} s = {snapshot.BytesDownloaded / 1e6 / wall:F1} MB/s; client process CPU {cpu:F2} s ({cpu / wall:F2} cores, {cpu / gb:F2} s/GB); fake Hub process CPU {serverCpu:F2} s; {reports} progress reports");

            // SHA-256 alone, the client's verification cost: over a buffer in memory, then over the files just written (page cache).
            var memory = HashMemorySecondsPerGb();
            var disk = HashFilesSecondsPerGb(revision.Files.Where(f => f.Sha256 is not null).Select(f => Path.Combine(files, f.Path)));
            Console.WriteLine($"  SHA-256 alone: {memory:F2} s/GB from memory, {disk:F2} s/GB from the files; hashing is about {memory * gb:F2} s of the client's {cpu:F2} s CPU ({memory * gb / cpu * 100:F0}%)");
            server.StandardInput.Close();
            await server.WaitForExitAsync();
            return 0;
        }
        finally
        {
            if (Directory.Exists(root))
            {
                Directory.Delete(root, recursive: true);
            }
        }
    }

    private static double HashMemorySecondsPerGb()
    {
        var buffer = new byte[256 << 20];
        new Random(1).NextBytes(buffer);
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        sha.AppendData(buffer.AsSpan(0, 1 << 20)); // warm-up
        var watch = Stopwatch.StartNew();
        const int rounds = 4;
        for (var i = 0; i < rounds; i++)
        {
            // In 1 MiB pieces, as the client appends each chunk it writes.
            for (var offset = 0; offset < buffer.Length; offset += 1 << 20)
            {
                sha.AppendData(buffer.AsSpan(offset, 1 << 20));
            }
        }
        sha.GetHashAndReset();
        return watch.Elapsed.TotalSeconds / (rounds * (double)buffer.Length / 1e9);
    }

    private static double HashFilesSecondsPerGb(IEnumerable<string> paths)
    {
        long bytes = 0;
        var watch = Stopwatch.StartNew();
        foreach (var path in paths)
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);
            SHA256.HashData(stream);
            bytes += stream.Length;
        }
        return watch.Elapsed.TotalSeconds / (bytes / 1e9);
    }

    /// <summary>Starts this program as `download --serve DIR` and reads the endpoint it prints.</summary>
    private static Process StartServer(string files, out string endpoint)
    {
        var psi = BenchArgs.Self("download", "--serve", files);
        psi.RedirectStandardInput = true;
        var process = Process.Start(psi)!;
        endpoint = process.StandardOutput.ReadLine() ?? throw new InvalidOperationException("the fake Hub process exited before printing its endpoint");
        return process;
    }

    private static async Task<int> ServeAsync(string files)
    {
        await using var hub = await Qwen.FakeHub.FakeHub.StartAsync();
        hub.AddRepo(RepoId, files);
        Console.WriteLine(hub.Endpoint);
        // Serve until the parent closes our stdin.
        await Console.In.ReadToEndAsync();
        return 0;
    }

    private sealed class CountingProgress(Action count) : IProgress<DownloadProgress>
    {
        public void Report(DownloadProgress value) => count();
    }
}
