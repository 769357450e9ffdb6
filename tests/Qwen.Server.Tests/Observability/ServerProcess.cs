using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

namespace Qwen.Server.Tests.Observability;

/// <summary>
/// The real server as its own process (Program.cs, JSON console logs, the tiny demo model): its stdout is the log a
/// container would ship, and its metrics registry is its own, so counters move only by this test's requests.
/// </summary>
internal sealed class ServerProcess : IAsyncDisposable
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(120);
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _lines = new();

    private ServerProcess(Process process)
    {
        _process = process;
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                _lines.Enqueue(e.Data);
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                _lines.Enqueue(e.Data);
            }
        };
    }

    public HttpClient Http { get; private set; } = null!;

    /// <summary>Every line the process wrote so far (stdout and stderr).</summary>
    public IReadOnlyList<string> Lines => [.. _lines];

    public static async Task<ServerProcess> StartAsync(params string[] args)
    {
        var dir = AppContext.BaseDirectory;
        var info = new ProcessStartInfo("dotnet") { WorkingDirectory = dir, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in (string[])[Path.Combine(dir, "Qwen.Server.dll"), "--urls", "http://127.0.0.1:0", "--json-logs", "--threads", "1", "--max-model-len", "512", "--max-num-seqs", "2", .. args])
        {
            info.ArgumentList.Add(a);
        }
        var server = new ServerProcess(Process.Start(info)!);
        server._process.BeginOutputReadLine();
        server._process.BeginErrorReadLine();
        var listening = await server.WaitForLogAsync(e => e.TryGetProperty("@mt", out var mt) && mt.GetString()!.StartsWith("Now listening on", StringComparison.Ordinal));
        // No drain on dispose: a response abandoned mid-stream must close the connection, as a real client that hangs up does.
        server.Http = new HttpClient(new SocketsHttpHandler { MaxResponseDrainSize = 0 }) { BaseAddress = new Uri(listening.GetProperty("address").GetString()!), Timeout = Bound };
        return server;
    }

    /// <summary>Waits for a JSON log event matching <paramref name="match"/>.</summary>
    public async Task<JsonElement> WaitForLogAsync(Func<JsonElement, bool> match)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(Bound.TotalSeconds * Stopwatch.Frequency);
        while (Stopwatch.GetTimestamp() < deadline)
        {
            foreach (var line in _lines)
            {
                if (line.StartsWith('{') && JsonDocument.Parse(line).RootElement is var e && match(e))
                {
                    return e;
                }
            }
            if (_process.HasExited)
            {
                throw new InvalidOperationException("the server exited: " + string.Join('\n', _lines));
            }
            await Task.Delay(50);
        }
        throw new TimeoutException("no matching log line; log so far:\n" + string.Join('\n', _lines));
    }

    /// <summary>The per-request record logged for <paramref name="requestId"/>.</summary>
    public Task<JsonElement> RecordAsync(string requestId)
        => WaitForLogAsync(e => e.TryGetProperty("RequestId", out var id) && id.GetString() == requestId);

    /// <summary>/metrics parsed: series (name and labels as written) to value.</summary>
    public async Task<Dictionary<string, double>> MetricsAsync()
    {
        var text = await Http.GetStringAsync("/metrics");
        var result = new Dictionary<string, double>();
        foreach (var line in text.Split('\n'))
        {
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }
            var space = line.LastIndexOf(' ');
            result[line[..space]] = double.Parse(line[(space + 1)..], CultureInfo.InvariantCulture);
        }
        return result;
    }

    public async ValueTask DisposeAsync()
    {
        Http?.Dispose();
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
    }
}
