using System.Diagnostics;

namespace Qwen.OnnxExport.Tests;

/// <summary>The model cache cleans up after an export whose process died (or whose pid a later process has): its temp folder is removed by the next build, a live process's is kept.</summary>
public sealed class RandomModelCacheTests
{
    [Fact]
    public void GetOrCreate_TempFolderOfADeadProcess_IsRemoved_ALiveProcessesIsKept()
    {
        var root = Directory.CreateTempSubdirectory("qwen-cache-sweep-").FullName;
        try
        {
            // What a killed build leaves: <model dir>.tmp-<pid>-<guid> with part of the weights in it.
            var dir = RandomModelCache.DirectoryFor("tiny", "fp32", 1234, root);
            var abandoned = Folder($"{dir}.tmp-{ExitedProcessId()}-{Guid.NewGuid():N}");
            var aside = Folder($"{dir}.old-{ExitedProcessId()}-{Guid.NewGuid():N}");
            var building = Folder($"{dir}.tmp-{Environment.ProcessId}-{Guid.NewGuid():N}");
            // A container's server is pid 1 on every start: a folder under this pid written before this process started
            // was left by an earlier process.
            var earlierSamePid = Folder($"{dir}.tmp-{Environment.ProcessId}-{Guid.NewGuid():N}");
            Directory.SetLastWriteTimeUtc(earlierSamePid, Process.GetCurrentProcess().StartTime.ToUniversalTime() - TimeSpan.FromHours(1));
            var unrelated = Folder(Path.Combine(root, "my-notes.tmp-1-2"));

            var built = RandomModelCache.GetOrCreate("tiny", cacheRoot: root);

            Assert.True(File.Exists(Path.Combine(built, "manifest.json")));
            Assert.False(Directory.Exists(abandoned));
            Assert.False(Directory.Exists(aside));
            Assert.True(Directory.Exists(building));
            Assert.False(Directory.Exists(earlierSamePid));
            Assert.True(Directory.Exists(unrelated));
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    private static string Folder(string path)
    {
        Directory.CreateDirectory(path);
        File.WriteAllBytes(Path.Combine(path, "model.onnx.data"), new byte[4096]);
        return path;
    }

    /// <summary>The id of a process that has exited (and been reaped), so no process has it now.</summary>
    private static int ExitedProcessId()
    {
        using var process = Process.Start(new ProcessStartInfo("sh", "-c true")) ?? throw new InvalidOperationException("cannot start sh");
        process.WaitForExit();
        return process.Id;
    }
}
