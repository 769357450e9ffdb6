namespace Qwen.OnnxExport;

/// <summary>
/// What the model caches (<see cref="RandomModelCache"/>, <see cref="HubModelCache"/>) share: one build of a model directory
/// at a time across processes, and the cleanup of builds whose process died.
/// </summary>
internal static class ExportCache
{
    /// <summary>
    /// Deletes what an export into <paramref name="dir"/> left behind when its process died (killed, or stopped with Ctrl-C
    /// before its finally ran): <c>&lt;dir&gt;.tmp-&lt;pid&gt;-&lt;guid&gt;</c> and <c>.old-</c> folders whose process is gone
    /// (or is a later process under the same pid).
    /// Called under the build lock, so no other cache build of this model is writing; a live process's folder is kept.
    /// </summary>
    internal static void RemoveAbandoned(string dir)
    {
        var parent = Path.GetDirectoryName(dir)!;
        var name = Path.GetFileName(dir);
        foreach (var folder in Directory.EnumerateDirectories(parent, name + ".*-*-*"))
        {
            var parts = Path.GetFileName(folder)[(name.Length + 1)..].Split('-');
            if (parts.Length == 3 && parts[0] is "tmp" or "old" && int.TryParse(parts[1], System.Globalization.CultureInfo.InvariantCulture, out var pid) && !IsAlive(pid, folder))
            {
                try
                {
                    Directory.Delete(folder, recursive: true);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    // Left for the next build to try again: a leftover must not stop this one.
                }
            }
        }
    }

    /// <summary>
    /// Whether process <paramref name="pid"/> may still be writing <paramref name="folder"/>: it runs, and it started before
    /// the folder was last written. The second part matters in containers, where the server is pid 1 on every start, so
    /// a folder left by the previous container would otherwise look like this process's own and never be removed.
    /// </summary>
    private static bool IsAlive(int pid, string folder)
    {
        try
        {
            using var process = System.Diagnostics.Process.GetProcessById(pid);
            // Two seconds of slack: Linux derives a start time from boot time and clock ticks.
            return !process.HasExited && process.StartTime.ToUniversalTime() < Directory.GetLastWriteTimeUtc(folder) + TimeSpan.FromSeconds(2);
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException)
        {
            return false; // no such process
        }
    }

    /// <summary>
    /// Takes the build lock of <paramref name="dir"/> (<c>&lt;dir&gt;.lock</c>), waiting while another process holds it;
    /// <paramref name="waiting"/> hears once that it waits. The wait has no limit: the lock is an flock, which the system
    /// releases when its holder dies, and a 72B export takes most of an hour. Dispose the stream to release it.
    /// </summary>
    internal static FileStream AcquireLock(string dir, Action? waiting = null)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                return new FileStream(dir + ".lock", FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.DeleteOnClose);
            }
            catch (IOException)
            {
                if (attempt == 0)
                {
                    waiting?.Invoke();
                }
                Thread.Sleep(100); // another process is building this model
            }
        }
    }
}
