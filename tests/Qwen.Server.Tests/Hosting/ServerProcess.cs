using System.Diagnostics;
using System.Text.RegularExpressions;
using Qwen.OnnxExport;

namespace Qwen.Server.Tests.Hosting;

/// <summary>
/// The real server as a child process (<c>dotnet Qwen.Server.dll</c>), its stdout and stderr drained asynchronously into
/// line lists (a full pipe would block it). Inherited QWEN_*, Hugging Face (HF_*, HUGGING*) and ASP.NET address variables are removed, so each test
/// states its whole environment; the demo model comes from the exporter's shared test cache. Killed on dispose.
/// </summary>
internal sealed partial class ServerProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly List<string> _stdout = [];
    private readonly List<string> _stderr = [];

    private ServerProcess(Process process) => _process = process;

    /// <summary>The server dll built next to the tests (the test project references the server).</summary>
    public static string BuiltServer => Path.Combine(AppContext.BaseDirectory, "Qwen.Server.dll");

    public IReadOnlyList<string> Stdout
    {
        get
        {
            lock (_stdout)
            {
                return [.. _stdout];
            }
        }
    }

    public IReadOnlyList<string> Stderr
    {
        get
        {
            lock (_stderr)
            {
                return [.. _stderr];
            }
        }
    }

    public string AllOutput => string.Join('\n', Stdout) + "\n--- stderr ---\n" + string.Join('\n', Stderr);

    /// <summary>Starts <paramref name="dll"/> (default: <see cref="BuiltServer"/>) in <paramref name="workingDirectory"/> (default: a fresh temp dir).</summary>
    public static ServerProcess Start(IEnumerable<string> args, IDictionary<string, string>? env = null, string? workingDirectory = null, string? dll = null)
    {
        var psi = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = workingDirectory ?? Directory.CreateTempSubdirectory("qwen-cwd-").FullName,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
        };
        psi.ArgumentList.Add(dll ?? BuiltServer);
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }
        foreach (var key in psi.Environment.Keys.ToList())
        {
            if (key.StartsWith("QWEN_", StringComparison.Ordinal) || key.StartsWith("ASPNETCORE_", StringComparison.Ordinal) || key.StartsWith("DOTNET_URLS", StringComparison.Ordinal) || key.StartsWith("Qwen__", StringComparison.OrdinalIgnoreCase) || key.StartsWith("HF_", StringComparison.Ordinal) || key.StartsWith("HUGGING", StringComparison.Ordinal))
            {
                psi.Environment.Remove(key);
            }
        }
        psi.Environment["QWEN_MODEL_CACHE_DIR"] = RandomModelCache.DefaultRoot;
        foreach (var (k, v) in env ?? new Dictionary<string, string>())
        {
            psi.Environment[k] = v;
        }
        var process = new Process { StartInfo = psi, EnableRaisingEvents = true };
        var server = new ServerProcess(process);
        process.OutputDataReceived += (_, e) => server.Add(server._stdout, e.Data);
        process.ErrorDataReceived += (_, e) => server.Add(server._stderr, e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return server;
    }

    /// <summary>Runs the server to its exit (a startup failure) and returns the exit code; fails the test if it is still running after <paramref name="timeout"/>.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            // Also waits for both redirected streams to reach end of file, so every line is in.
            await _process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"the server did not exit within {timeout}:\n{AllOutput}");
        }
        return _process.ExitCode;
    }

    /// <summary>Waits for Kestrel's "Now listening on:" line and returns that address; fails with the output if the server exits first.</summary>
    public async Task<Uri> WaitForListeningAsync(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            foreach (var line in Stdout)
            {
                var m = ListeningRegex().Match(line);
                if (m.Success)
                {
                    return new Uri(m.Groups[1].Success ? m.Groups[1].Value : m.Groups[2].Value);
                }
            }
            if (_process.HasExited)
            {
                await _process.WaitForExitAsync();
                throw new InvalidOperationException($"the server exited with {_process.ExitCode} before listening:\n{AllOutput}");
            }
            await Task.Delay(50);
        }
        throw new TimeoutException($"the server was not listening within {timeout}:\n{AllOutput}");
    }

    /// <summary>Waits for a stdout line matching <paramref name="match"/> and returns it; fails with the output if none came within <paramref name="timeout"/>.</summary>
    public async Task<string> WaitForLineAsync(Func<string, bool> match, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (Stdout.FirstOrDefault(match) is { } line)
            {
                return line;
            }
            await Task.Delay(50);
        }
        throw new TimeoutException($"no matching line within {timeout}:\n{AllOutput}");
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }
        await _process.WaitForExitAsync();
        _process.Dispose();
    }

    private void Add(List<string> lines, string? line)
    {
        if (line is null)
        {
            return;
        }
        lock (lines)
        {
            lines.Add(line);
        }
    }

    // Text logs: "Now listening on: http://127.0.0.1:41234"; JSON logs: {"@mt":"Now listening on: {address}","address":"http://127.0.0.1:41234",...}.
    [GeneratedRegex(@"Now listening on: (http://[^\s""]+)|""address"":""(http://[^""]+)""")]
    private static partial Regex ListeningRegex();
}
