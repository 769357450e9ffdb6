using System.Globalization;
using System.Runtime.InteropServices;

namespace Qwen.Inference.Model;

/// <summary>
/// Backs the memory a model load allocated with 2 MB transparent huge pages (Linux; elsewhere nothing). A decode step
/// reads every weight once, and ONNX Runtime's prepacked copies of them live in memory malloc mapped in 4 KB pages:
/// reading 2 GB in 4 KB pages costs a TLB miss every 4 KB, which held fp32 decode to about 42 of the 59 GB/s the host
/// reads at (bench/README.md, "fp32 decode profile"). Neither ONNX Runtime nor its managed API lets a caller choose how its
/// CPU allocator maps memory, and with the host's THP in its usual <c>madvise</c> mode nothing is a huge page unless
/// asked. So the runner takes a <see cref="Snapshot"/> of the address space before the session is created and, once the
/// weights are loaded, <see cref="CollapseNew"/> asks the kernel (<c>MADV_COLLAPSE</c>, Linux 6.1+) to move the anonymous
/// memory that appeared meanwhile into huge pages: a one-time copy at startup, the contents unchanged.
/// </summary>
internal static partial class HugePages
{
    /// <summary>A huge page on x86-64 and arm64 Linux with 4 KB base pages.</summary>
    public const long Size = 2 << 20;

    private const int MadvHugePage = 14; // MADV_HUGEPAGE: eligible for THP at its next fault and for khugepaged
    private const int MadvCollapse = 25; // MADV_COLLAPSE: collapse into huge pages now, synchronously

    /// <summary>The process's anonymous read-write mappings (start, end), or none off Linux or where /proc cannot be read.</summary>
    public static (long Start, long End)[] Snapshot() =>
        OperatingSystem.IsLinux() && TryMappings() is { } mappings ? [.. mappings.Where(m => m.Anonymous).Select(m => (m.Start, m.End))] : [];

    /// <summary>
    /// Collapses into huge pages the anonymous read-write memory mapped since <paramref name="before"/> was taken: each
    /// new range, cut to whole 2 MB pages, of a mapping at least half resident (what a load filled, such as packed weights;
    /// not a thread's stack that a collapse would make resident). Returns the bytes in huge pages afterwards of the
    /// mappings those ranges lie in (from /proc/self/smaps), 0 where the host has no THP or this is not Linux. Best effort:
    /// a page the kernel cannot collapse (no free huge page) stays as it was.
    /// </summary>
    public static long CollapseNew((long Start, long End)[] before)
    {
        if (!OperatingSystem.IsLinux() || TryMappings() is not { } mappings)
        {
            return 0;
        }
        var collapsed = ToCollapse(mappings, before).ToList();
        foreach (var (start, end) in collapsed)
        {
            Advise((nint)start, end - start, collapse: true);
        }
        return collapsed.Count == 0 ? 0 : (TryMappings() ?? []).Where(m => collapsed.Any(c => c.Start < m.End && m.Start < c.End)).Sum(m => m.AnonHugeBytes);
    }

    /// <summary>
    /// Marks [<paramref name="start"/>, +<paramref name="bytes"/>) (2 MB-aligned) for huge pages: memory not yet touched
    /// then faults in as huge pages; with <paramref name="collapse"/> what is already resident is collapsed now as well.
    /// </summary>
    public static void Advise(nint start, long bytes, bool collapse)
    {
        if (!OperatingSystem.IsLinux() || bytes < Size)
        {
            return;
        }
        // Return codes are ignored on purpose: THP off (EINVAL), no huge page free (EAGAIN, ENOMEM) or a kernel before 6.1
        // (EINVAL for the collapse) all leave the memory as it was, which is correct, only slower.
        try
        {
            _ = Madvise(start, (nuint)bytes, MadvHugePage);
            // One huge page at a time, each tried twice: the kernel gives up on the rest of a range at some failures (a
            // page it cannot take just now), which left most of a load in 4 KB pages in 3 of 6 starts of the tiny demo
            // model; page by page, 8 of 8 starts held it all.
            for (var page = 0L; collapse && page + Size <= bytes; page += Size)
            {
                if (Madvise(start + (nint)page, (nuint)Size, MadvCollapse) != 0)
                {
                    _ = Madvise(start + (nint)page, (nuint)Size, MadvCollapse);
                }
            }
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            // A C library the runtime cannot bind by the name "libc": 4 KB pages, as with THP off.
        }
    }

    /// <summary>
    /// The whole 2 MB pages to collapse: in an anonymous mapping at least half resident, and in no range of
    /// <paramref name="before"/>.
    /// </summary>
    internal static IEnumerable<(long Start, long End)> ToCollapse(IEnumerable<Mapping> mappings, (long Start, long End)[] before)
    {
        foreach (var m in mappings.Where(m => m.Anonymous && 2 * m.Rss >= m.End - m.Start))
        {
            foreach (var (start, end) in Subtract(m.Start, m.End, before))
            {
                var (from, to) = ((start + Size - 1) & ~(Size - 1), end & ~(Size - 1));
                if (to > from)
                {
                    yield return (from, to);
                }
            }
        }
    }

    /// <summary>The parts of [start, end) that no range in <paramref name="ranges"/> covers.</summary>
    internal static IEnumerable<(long Start, long End)> Subtract(long start, long end, (long Start, long End)[] ranges)
    {
        foreach (var (s, e) in ranges.Where(r => r.Start < end && start < r.End).OrderBy(r => r.Start))
        {
            if (s > start)
            {
                yield return (start, s);
            }
            start = Math.Max(start, e);
        }
        if (start < end)
        {
            yield return (start, end);
        }
    }

    /// <summary>
    /// <see cref="Mappings"/>, or null where /proc/self/smaps cannot be read (a sandbox that hides it): huge pages are an
    /// optimization, never a reason for a model not to load.
    /// </summary>
    private static List<Mapping>? TryMappings()
    {
        try
        {
            return Mappings();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            return null;
        }
    }

    /// <summary>Every mapping of /proc/self/smaps with the fields read here.</summary>
    private static List<Mapping> Mappings()
    {
        var mappings = new List<Mapping>();
        foreach (var line in File.ReadLines("/proc/self/smaps"))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            var space = line.IndexOf(' ', StringComparison.Ordinal);
            if (space > 0 && (colon < 0 || colon > space)) // a header: "start-end perms offset dev inode [path]"
            {
                var parts = line.Split(' ', 6, StringSplitOptions.RemoveEmptyEntries);
                var range = parts[0].Split('-');
                // No path, or malloc's brk heap: after large blocks are freed glibc raises its mmap threshold (up to 32 MB),
                // so a second load's matrices come from the heap, not from mappings of their own. Never [stack] or files.
                var anonymous = parts[1] == "rw-p" && (parts.Length < 6 || parts[5].Trim() is "" or "[heap]");
                mappings.Add(new Mapping(long.Parse(range[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture), long.Parse(range[1], NumberStyles.HexNumber, CultureInfo.InvariantCulture), anonymous));
            }
            else if (mappings.Count > 0 && (line.StartsWith("Rss:", StringComparison.Ordinal) || line.StartsWith("AnonHugePages:", StringComparison.Ordinal)))
            {
                var kb = long.Parse(line.AsSpan(colon + 1).Trim().TrimEnd("kB").Trim(), CultureInfo.InvariantCulture) * 1024;
                var m = mappings[^1];
                mappings[^1] = line[0] == 'R' ? m with { Rss = kb } : m with { AnonHugeBytes = kb };
            }
        }
        return mappings;
    }

    [LibraryImport("libc", EntryPoint = "madvise")]
    private static partial int Madvise(nint address, nuint length, int advice);

    /// <summary>One mapping of /proc/self/smaps: its range, whether it is anonymous read-write memory, its resident and huge-page bytes.</summary>
    internal readonly record struct Mapping(long Start, long End, bool Anonymous)
    {
        public long Rss { get; init; }

        public long AnonHugeBytes { get; init; }
    }
}
