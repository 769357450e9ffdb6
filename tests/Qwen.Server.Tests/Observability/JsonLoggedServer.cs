using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Qwen.Server.Tests.Hosting;

namespace Qwen.Server.Tests.Observability;

/// <summary>
/// The real server as its own process (<see cref="ServerProcess"/>) with JSON console logs and the tiny test model (as
/// <see cref="ServerFixture"/> serves it: sharp logits, replies that run to max_tokens): its
/// stdout is the log a container would ship, and its metrics registry is its own, so counters move only by this test's
/// requests.
/// </summary>
internal sealed class JsonLoggedServer : IAsyncDisposable
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(120);
    private readonly ServerProcess _process;

    private JsonLoggedServer(ServerProcess process, HttpClient http)
    {
        _process = process;
        Http = http;
    }

    public HttpClient Http { get; }

    /// <summary>The server's address.</summary>
    public Uri BaseAddress => Http.BaseAddress!;

    /// <summary>Every line the process wrote so far (stdout and stderr).</summary>
    public IReadOnlyList<string> Lines => [.. _process.Stdout, .. _process.Stderr];

    /// <summary>Starts the server: 2 slots of 512 tokens unless <paramref name="args"/> says otherwise (a later flag wins).</summary>
    public static async Task<JsonLoggedServer> StartAsync(params string[] args)
    {
        var process = ServerProcess.Start(["--urls", "http://127.0.0.1:0", "--json-logs", "--threads", "1", "--model", TestModels.Tiny, "--served-model-name", "qwen2.5-tiny", "--max-model-len", "512", "--max-num-seqs", "2", .. args]);
        var address = await process.WaitForListeningAsync(Bound);
        // No drain on dispose: a response abandoned mid-stream must close the connection, as a real client that hangs up does.
        return new JsonLoggedServer(process, new HttpClient(new SocketsHttpHandler { MaxResponseDrainSize = 0 }) { BaseAddress = address, Timeout = Bound });
    }

    /// <summary>Waits for a JSON log event matching <paramref name="match"/>.</summary>
    public async Task<JsonElement> WaitForLogAsync(Func<JsonElement, bool> match)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(Bound.TotalSeconds * Stopwatch.Frequency);
        while (Stopwatch.GetTimestamp() < deadline)
        {
            foreach (var line in _process.Stdout)
            {
                if (line.StartsWith('{') && JsonDocument.Parse(line).RootElement is var e && match(e))
                {
                    return e;
                }
            }
            await Task.Delay(50);
        }
        throw new TimeoutException("no matching log line; log so far:\n" + _process.AllOutput);
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
        Http.Dispose();
        await _process.DisposeAsync();
    }
}
