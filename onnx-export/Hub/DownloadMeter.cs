using System.Diagnostics;

namespace Qwen.OnnxExport.Hub;

/// <summary>
/// Counts one download call's bytes and reports <see cref="DownloadProgress"/> per chunk. The rate is taken over the
/// last few seconds so a stall shows at once; it stays unknown (0) for the first half second, but for a last report. Thread-safe: the files of
/// one call arrive in parallel, and each report is made under the lock so Done never goes backwards.
/// </summary>
internal sealed class DownloadMeter(long total, long present, IProgress<DownloadProgress>? progress)
{
    private static readonly TimeSpan Window = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan MinSpan = TimeSpan.FromSeconds(0.5);
    private static readonly TimeSpan SampleEvery = TimeSpan.FromMilliseconds(100);

    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly Queue<(TimeSpan At, long Transferred)> _samples = new();
    private readonly Lock _lock = new();
    private long _done = present;
    private long _transferred;

    /// <summary>Bytes that came over the network in this call.</summary>
    public long Transferred
    {
        get
        {
            lock (_lock)
            {
                return _transferred;
            }
        }
    }

    /// <summary>Bytes found in a partial download: present, not transferred.</summary>
    public void Resumed(string file, long bytes)
    {
        lock (_lock)
        {
            _done += bytes;
            Report(file);
        }
    }

    /// <summary>A restart from byte 0 drops what had been counted of this file.</summary>
    public void Dropped(long bytes)
    {
        lock (_lock)
        {
            _done -= bytes;
        }
    }

    /// <summary>A chunk of <paramref name="file"/> arrived.</summary>
    public void Received(string file, long bytes)
    {
        lock (_lock)
        {
            _done += bytes;
            _transferred += bytes;
            Report(file);
        }
    }

    private void Report(string file)
    {
        var now = _clock.Elapsed;
        if (_samples.Count == 0 || now - _samples.Last().At >= SampleEvery)
        {
            _samples.Enqueue((now, _transferred));
        }
        while (_samples.Count > 1 && now - _samples.Peek().At > Window)
        {
            _samples.Dequeue();
        }
        var (at, transferred) = _samples.Peek();
        var span = now - at;
        // A call that ends within the first half second still gets a rate for its last report: the average.
        var rate = span >= MinSpan ? (_transferred - transferred) / span.TotalSeconds
            : _done >= total && now > TimeSpan.Zero ? _transferred / now.TotalSeconds : 0;
        progress?.Report(new DownloadProgress(file, _done, total, rate));
    }
}
