using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Qwen.Bench.Pool;

/// <summary>
/// One replica: the built server (<c>dotnet Qwen.Server.dll</c>) as a child process on a free loopback port, its output
/// drained (a full pipe would block it; the last lines are kept for a startup failure), and an <see cref="HttpClient"/>
/// on its address. Dispose kills the process.
/// </summary>
internal sealed class Replica : IDisposable
{
    private readonly Process _process;
    private readonly Queue<string> _tail = new();

    private Replica(Process process, Uri url)
    {
        _process = process;
        Url = url;
        Http = new HttpClient { BaseAddress = url, Timeout = Timeout.InfiniteTimeSpan };
    }

    /// <summary>The replica's base address, <c>http://127.0.0.1:PORT/</c>.</summary>
    public Uri Url { get; }

    /// <summary>A client on <see cref="Url"/> without a timeout of its own (each request sets its own); owned by the replica.</summary>
    public HttpClient Http { get; }

    /// <summary>The server's process id (for /proc).</summary>
    public int ProcessId => _process.Id;

    /// <summary>Starts <paramref name="dll"/> with <paramref name="serverArgs"/> on a free loopback port; with <paramref name="echoErrors"/> its stderr is also written to ours.</summary>
    public static Replica Start(string dll, IReadOnlyList<string> serverArgs, bool echoErrors = false)
    {
        if (!File.Exists(dll))
        {
            throw new FileNotFoundException($"no server at {dll}: build it with `dotnet build src/Qwen.Server -c Release`, or pass --server-dll");
        }
        int port;
        using (var probe = new TcpListener(IPAddress.Loopback, 0))
        {
            probe.Start();
            port = ((IPEndPoint)probe.LocalEndpoint).Port;
        }
        var url = new Uri($"http://127.0.0.1:{port}/");
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in (IEnumerable<string>)[dll, "--urls", $"http://127.0.0.1:{port}", .. serverArgs])
        {
            psi.ArgumentList.Add(arg);
        }
        var replica = new Replica(new Process { StartInfo = psi }, url);
        replica._process.OutputDataReceived += (_, e) => replica.Keep(e.Data);
        replica._process.ErrorDataReceived += (_, e) =>
        {
            replica.Keep(e.Data);
            if (echoErrors && e.Data is not null)
            {
                Console.Error.WriteLine(e.Data);
            }
        };
        replica._process.Start();
        replica._process.BeginOutputReadLine();
        replica._process.BeginErrorReadLine();
        return replica;
    }

    /// <summary>Polls /health/ready until it answers 200; fails with the server's last lines if it exits or <paramref name="timeout"/> passes.</summary>
    public async Task WaitReadyAsync(TimeSpan timeout)
    {
        var sw = Stopwatch.StartNew();
        while (true)
        {
            if (_process.HasExited || sw.Elapsed > timeout)
            {
                throw new InvalidOperationException($"the replica at {Url} {(_process.HasExited ? $"exited with {_process.ExitCode}" : $"was not ready after {timeout.TotalSeconds:F0} s")}; its last lines:\n{Tail()}");
            }
            try
            {
                using var response = await Http.GetAsync("health/ready");
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }
            await Task.Delay(200);
        }
    }

    private void Keep(string? line)
    {
        if (line is null)
        {
            return;
        }
        lock (_tail)
        {
            _tail.Enqueue(line);
            if (_tail.Count > 20)
            {
                _tail.Dequeue();
            }
        }
    }

    private string Tail()
    {
        lock (_tail)
        {
            return string.Join('\n', _tail);
        }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(5000);
        }
        _process.Dispose();
        Http.Dispose();
    }
}
