using Microsoft.Extensions.Logging;
using Qwen.Server.Hosting;

namespace Qwen.Server.Tests.Hosting;

/// <summary>Off a terminal, progress is a log event for the first report and each phase's end, and otherwise at most one per interval.</summary>
public sealed class ProgressLogTests
{
    [Fact]
    public void Report_OffATerminal_LogsTheFirstAndEachEnd_AndNothingBetweenWithinTheInterval()
    {
        var logger = new CapturingLogger();
        using (var progress = new ProgressLog<(long Done, long Total)>(logger, "Exporting org/name", p => p, p => $"{p.Done}/{p.Total}", terminal: false))
        {
            // Two phases (the export hashes, then writes), each reported many times within far less than the interval.
            foreach (var total in new long[] { 1000, 5000 })
            {
                for (long done = 0; done <= total; done += 100)
                {
                    progress.Report((done, total));
                }
            }
        }
        Assert.Equal(
            [
                "Exporting org/name: 0/1000 (0 of 1000 bytes)",
                "Exporting org/name: 1000/1000 (1000 of 1000 bytes)",
                "Exporting org/name: 5000/5000 (5000 of 5000 bytes)",
            ],
            logger.Entries.Where(e => e.Level == LogLevel.Information).Select(e => e.Message));
        Assert.True(ProgressLog<int>.Interval >= TimeSpan.FromSeconds(1)); // the loop above ran well within it
    }
}
