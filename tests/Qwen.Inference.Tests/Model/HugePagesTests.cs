using System.Globalization;
using System.Runtime.InteropServices;
using Qwen.Inference.Engine;
using Qwen.Inference.Model;
using Qwen.Inference.Tests.Engine;

namespace Qwen.Inference.Tests.Model;

/// <summary>
/// Huge pages for the loaded model: which memory is chosen (against a reference that decides 2 MB page by page), what the
/// kernel reports after a collapse (read from /proc/self/smaps by a parser of this test's own), contents kept, and a
/// runner's logits bit for bit the same with huge pages on and off.
/// </summary>
public sealed class HugePagesTests
{
    private const long Mb = 1 << 20;

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void ToCollapse_RandomMappings_ThePagesAPageByPageReferenceChooses(int seed)
    {
        var random = new Random(seed);
        for (var round = 0; round < 200; round++)
        {
            // Mappings in whole MB (so half of them start or end inside a 2 MB page), some gaps, some adjacent.
            var mappings = new List<HugePages.Mapping>();
            var at = random.Next(0, 4) * Mb;
            for (var i = random.Next(0, 6); i > 0; i--)
            {
                var size = random.Next(1, 12) * Mb;
                var rss = random.Next(0, 5) switch { 0 => 0, 1 => (size / 2) - 4096, 2 => size / 2, _ => size };
                mappings.Add(new HugePages.Mapping(at, at + size, random.Next(4) > 0) { Rss = rss });
                at += size + (random.Next(3) * Mb);
            }
            var before = Enumerable.Range(0, random.Next(0, 4)).Select(_ =>
            {
                var start = random.Next(0, (int)(at / Mb) + 1) * Mb / 2; // half-MB steps
                return (Start: start, End: start + (random.Next(1, 8) * Mb / 2));
            }).ToArray();

            var chosen = HugePages.ToCollapse(mappings, before).SelectMany(r => Pages(r.Start, r.End)).ToList();

            var expected = new List<long>();
            for (var page = 0L; page < at; page += HugePages.Size)
            {
                var end = page + HugePages.Size;
                var inEligible = mappings.Any(m => m.Anonymous && 2 * m.Rss >= m.End - m.Start && m.Start <= page && end <= m.End);
                var touchesOld = before.Any(b => b.Start < end && page < b.End);
                if (inEligible && !touchesOld)
                {
                    expected.Add(page);
                }
            }
            Assert.Equal(expected, chosen); // in address order, none twice
        }
    }

    [Fact]
    public unsafe void CollapseNew_MemoryFilledAfterTheSnapshot_HeldInHugePages_ContentsKept()
    {
        if (!OperatingSystem.IsLinux())
        {
            Assert.Equal(0, HugePages.CollapseNew(HugePages.Snapshot()));
            return;
        }
        var before = HugePages.Snapshot();
        const long bytes = 40 * Mb; // above glibc's largest mmap threshold (32 MB): a mapping of its own
        var p = (byte*)NativeMemory.AlignedAlloc((nuint)bytes, (nuint)HugePages.Size);
        try
        {
            var expected = new byte[bytes];
            new Random(5).NextBytes(expected);
            expected.CopyTo(new Span<byte>(p, (int)bytes));

            var reported = HugePages.CollapseNew(before);

            Assert.True(new ReadOnlySpan<byte>(p, (int)bytes).SequenceEqual(expected), "the collapse changed the memory's contents");
            if (ThpAvailable())
            {
                var held = AnonHugeBytesOfMappingAt((long)p);
                Assert.True(held >= bytes, $"the mapping holding the new 40 MB has {held / Mb} MB in huge pages");
                Assert.True(reported >= held, $"reported {reported / Mb} MB, the mapping alone holds {held / Mb} MB");
            }
        }
        finally
        {
            NativeMemory.AlignedFree(p);
        }
    }

    [Fact]
    public void Runner_HugePagesOnAndOff_SameLogitsBitForBit()
    {
        var options = new EngineOptions { MaxNumSeqs = 3, MaxModelLen = 64, IntraOpThreads = 1 };
        using (var on = OnnxModelRunner.Create(EngineBatchingTests.TinyModel, options))
        using (var off = OnnxModelRunner.Create(EngineBatchingTests.TinyModel, options with { HugePages = false }))
        {
            Assert.Equal(0, off.HugePageBytes);
            Assert.Equal(on.HugePageBytes, on.Info.HugePageBytes);
            if (OperatingSystem.IsLinux() && ThpAvailable())
            {
                // The tiny model's 151,936 x 64 embedding alone is 39 MB, and ONNX Runtime packs a copy of it for lm_head.
                Assert.True(on.HugePageBytes >= 32 * Mb, $"{on.HugePageBytes / Mb} MB in huge pages");
            }
        }
        var withHugePages = OnnxModelRunnerTests.RunScript(options);
        var without = OnnxModelRunnerTests.RunScript(options with { HugePages = false });
        Assert.Equal(withHugePages.Count, without.Count);
        for (var i = 0; i < without.Count; i++)
        {
            Assert.True(withHugePages[i].Logits.AsSpan().SequenceEqual(without[i].Logits), $"logits of run {i} ({without[i].What}) differ with huge pages");
        }
    }

    private static IEnumerable<long> Pages(long start, long end)
    {
        for (var page = start; page < end; page += HugePages.Size)
        {
            yield return page;
        }
    }

    /// <summary>THP not switched off: /sys/kernel/mm/transparent_hugepage/enabled shows "always" or "madvise" chosen.</summary>
    private static bool ThpAvailable() =>
        File.Exists("/sys/kernel/mm/transparent_hugepage/enabled") && !File.ReadAllText("/sys/kernel/mm/transparent_hugepage/enabled").Contains("[never]", StringComparison.Ordinal);

    /// <summary>AnonHugePages of the /proc/self/smaps mapping whose range holds <paramref name="address"/>.</summary>
    private static long AnonHugeBytesOfMappingAt(long address)
    {
        var inside = false;
        foreach (var line in File.ReadLines("/proc/self/smaps"))
        {
            var dash = line.IndexOf('-', StringComparison.Ordinal);
            var space = line.IndexOf(' ', StringComparison.Ordinal);
            if (dash > 0 && space > dash && !line[..space].Contains(':', StringComparison.Ordinal))
            {
                var start = Convert.ToInt64(line[..dash], 16);
                var end = Convert.ToInt64(line[(dash + 1)..space], 16);
                inside = start <= address && address < end;
            }
            else if (inside && line.StartsWith("AnonHugePages:", StringComparison.Ordinal))
            {
                return long.Parse(line["AnonHugePages:".Length..].Replace("kB", "", StringComparison.Ordinal).Trim(), CultureInfo.InvariantCulture) * 1024;
            }
        }
        throw new InvalidOperationException($"no mapping holds {address:x}");
    }
}
