using System.Globalization;

namespace Qwen.Bench.Load;

/// <summary>The server process's own figures, read from its Prometheus /metrics (prometheus-net's process_* and dotnet_* series).</summary>
internal sealed record ServerProcessSample(double Seconds, double WorkingSetBytes, double ManagedBytes, double Threads, double OpenHandles, double Running, double Waiting)
{
    public static async Task<ServerProcessSample> ReadAsync(HttpClient http, double seconds)
    {
        var text = await http.GetStringAsync("metrics");
        double Value(string name)
        {
            foreach (var line in text.AsSpan().EnumerateLines())
            {
                if (line.StartsWith(name) && line.Length > name.Length && line[name.Length] == ' ')
                {
                    return double.Parse(line[(name.Length + 1)..], CultureInfo.InvariantCulture);
                }
            }
            return double.NaN;
        }
        return new ServerProcessSample(seconds, Value("process_working_set_bytes"), Value("dotnet_total_memory_bytes"), Value("process_num_threads"),
            Value("process_open_handles"), Value("qwen_requests_running"), Value("qwen_requests_waiting"));
    }

    public override string ToString()
        => string.Create(CultureInfo.InvariantCulture, $"t={Seconds,6:F0}s RSS {WorkingSetBytes / 1048576,7:F1} MiB, managed {ManagedBytes / 1048576,6:F1} MiB, {Threads} threads, {OpenHandles} handles, running {Running}, waiting {Waiting}");
}
