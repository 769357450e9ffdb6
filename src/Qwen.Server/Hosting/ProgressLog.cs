using System.Diagnostics;
using Microsoft.Extensions.Logging;

namespace Qwen.Server.Hosting;

/// <summary>
/// Reports a long startup step (a download, an export): on a terminal a line redrawn in place on stderr, a few times a
/// second; otherwise (JSON logs, output to a file or a container log) one log event every <see cref="Interval"/>, with the
/// bytes done and in all as fields, plus the first and each phase's end. Thread-safe; dispose to end the terminal line.
/// </summary>
/// <typeparam name="T">The progress value.</typeparam>
public sealed class ProgressLog<T> : IProgress<T>, IDisposable
{
    /// <summary>How often a log event is written when not on a terminal.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(5);

    private static readonly TimeSpan RedrawInterval = TimeSpan.FromMilliseconds(250);

    private readonly Lock _gate = new();
    private readonly ILogger _logger;
    private readonly string _activity;
    private readonly Func<T, (long Done, long Total)> _bytes;
    private readonly Func<T, string> _describe;
    private readonly bool _terminal;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private TimeSpan? _last;
    private bool _drawn;

    /// <summary>Reports <paramref name="activity"/> ("Downloading Qwen/Qwen2.5-7B-Instruct") to <paramref name="logger"/>, or to the terminal when <paramref name="terminal"/>.</summary>
    public ProgressLog(ILogger logger, string activity, Func<T, (long Done, long Total)> bytes, Func<T, string> describe, bool terminal)
    {
        ArgumentNullException.ThrowIfNull(logger);
        ArgumentNullException.ThrowIfNull(bytes);
        ArgumentNullException.ThrowIfNull(describe);
        (_logger, _activity, _bytes, _describe, _terminal) = (logger, activity, bytes, describe, terminal);
    }

    /// <inheritdoc/>
    public void Report(T value)
    {
        var (done, total) = _bytes(value);
        lock (_gate)
        {
            var now = _clock.Elapsed;
            var complete = done >= total;
            if (!complete && _last is { } last && now - last < (_terminal ? RedrawInterval : Interval))
            {
                return;
            }
            _last = now;
            if (_terminal)
            {
                Console.Error.Write($"\r{_activity}: {_describe(value)}\u001b[K");
                _drawn = true;
            }
            else
            {
                _logger.LogInformation("{Activity}: {Progress} ({Done} of {Total} bytes)", _activity, _describe(value), done, total);
            }
        }
    }

    /// <summary>Ends the terminal line, if one was drawn.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_drawn)
            {
                Console.Error.WriteLine();
                _drawn = false;
            }
        }
    }
}
