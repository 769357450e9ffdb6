using System.Globalization;

namespace Qwen.OnnxExport.Hub;

/// <summary>
/// Progress of one download call, all files together: one line reads
/// "412.0/988.1 MB  41.7%  85.3 MB/s  ETA 0:07  model-00001-of-00002.safetensors" (MB = 10^6 bytes).
/// </summary>
/// <param name="File">The file being transferred (repo-relative path).</param>
/// <param name="Done">Bytes of the call's files present so far (reused from the cache, resumed, or transferred).</param>
/// <param name="Total">Bytes of all the call's files.</param>
/// <param name="BytesPerSecond">Recent transfer rate; 0 while unknown.</param>
public sealed record DownloadProgress(string File, long Done, long Total, double BytesPerSecond)
{
    /// <summary>The time left at the current rate; null while the rate is unknown.</summary>
    public TimeSpan? Eta => BytesPerSecond > 0 ? TimeSpan.FromSeconds(Math.Max(0, Total - Done) / BytesPerSecond) : null;

    /// <summary>Done / Total in [0, 1].</summary>
    public double Fraction => Total <= 0 ? 1 : Math.Clamp((double)Done / Total, 0, 1);

    /// <summary>One human line: bytes, percent, rate, ETA and file.</summary>
    public override string ToString()
    {
        var rate = BytesPerSecond > 0 ? $"{BytesPerSecond / 1e6:F1} MB/s" : "-- MB/s";
        return string.Create(CultureInfo.InvariantCulture, $"{Done / 1e6:F1}/{Total / 1e6:F1} MB  {Fraction * 100:F1}%  {rate}  ETA {FormatEta(Eta)}  {File}");
    }

    private static string FormatEta(TimeSpan? eta)
    {
        if (eta is not { } t)
        {
            return "-:--";
        }
        var seconds = (long)Math.Ceiling(t.TotalSeconds);
        return seconds >= 3600
            ? string.Create(CultureInfo.InvariantCulture, $"{seconds / 3600}:{seconds / 60 % 60:D2}:{seconds % 60:D2}")
            : string.Create(CultureInfo.InvariantCulture, $"{seconds / 60}:{seconds % 60:D2}");
    }
}
