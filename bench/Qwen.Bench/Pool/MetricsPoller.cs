using System.Diagnostics;

namespace Qwen.Bench.Pool;

/// <summary>
/// Scrapes every replica's /metrics on its own loop every <paramref name="interval"/> (the EPP's
/// --refresh-metrics-interval, 50 ms by default) and keeps the latest figures of each, as the EPP's datastore does. A
/// failed scrape keeps the previous figures (counted in <see cref="Failures"/>). Start with <see cref="StartAsync"/>,
/// which returns after one scrape of each replica; disposing stops the loops.
/// </summary>
internal sealed class MetricsPoller(IReadOnlyList<HttpClient> replicas, TimeSpan interval) : IAsyncDisposable
{
    private readonly ReplicaMetrics[] _latest = new ReplicaMetrics[replicas.Count];
    private readonly CancellationTokenSource _stop = new();
    private Task[] _loops = [];
    private int _scrapes, _failures;

    /// <summary>How long one scrape may take before it counts as failed.</summary>
    public static readonly TimeSpan ScrapeTimeout = TimeSpan.FromSeconds(1);

    /// <summary>Scrapes that succeeded, over all replicas.</summary>
    public int Scrapes => Volatile.Read(ref _scrapes);

    /// <summary>Scrapes that failed (a timeout, a connection error, a malformed page).</summary>
    public int Failures => Volatile.Read(ref _failures);

    /// <summary>The latest figures of each replica (a copy: records are replaced whole, never torn).</summary>
    public IReadOnlyList<ReplicaMetrics> Latest() => [.. Enumerable.Range(0, _latest.Length).Select(i => Volatile.Read(ref _latest[i]))];

    /// <summary>Scrapes each replica once (it must answer), then starts the refresh loops.</summary>
    public async Task StartAsync()
    {
        for (var i = 0; i < replicas.Count; i++)
        {
            _latest[i] = await ScrapeAsync(replicas[i], CancellationToken.None);
        }
        _loops = [.. Enumerable.Range(0, replicas.Count).Select(i => Task.Run(() => LoopAsync(i)))];
    }

    /// <summary>Waits until every replica's latest figures show nothing waiting or running (fresh scrapes, not timed).</summary>
    public async Task WaitIdleAsync(TimeSpan timeout)
    {
        var sw = Stopwatch.StartNew();
        while (Latest().Any(m => m.Waiting > 0 || m.Running > 0))
        {
            if (sw.Elapsed > timeout)
            {
                throw new InvalidOperationException($"the replicas were still busy {timeout.TotalSeconds:F0} s after the last request ended");
            }
            await Task.Delay(interval);
        }
    }

    private async Task LoopAsync(int i)
    {
        using var timer = new PeriodicTimer(interval);
        try
        {
            while (await timer.WaitForNextTickAsync(_stop.Token))
            {
                try
                {
                    Volatile.Write(ref _latest[i], await ScrapeAsync(replicas[i], _stop.Token));
                    Interlocked.Increment(ref _scrapes);
                }
                catch (Exception e) when (e is HttpRequestException or FormatException or TaskCanceledException && !_stop.IsCancellationRequested)
                {
                    Interlocked.Increment(ref _failures);
                }
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
        }
    }

    private static async Task<ReplicaMetrics> ScrapeAsync(HttpClient http, CancellationToken ct)
    {
        // A scrape that hangs must not stall the loop for good: the figures just age, as they would in the EPP.
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
        deadline.CancelAfter(ScrapeTimeout);
        var text = await http.GetStringAsync("metrics", deadline.Token);
        return ReplicaMetrics.FromScrape(text, Stopwatch.GetTimestamp());
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await Task.WhenAll(_loops);
        _stop.Dispose();
    }
}
