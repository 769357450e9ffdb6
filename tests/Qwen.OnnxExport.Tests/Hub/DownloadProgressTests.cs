using Qwen.OnnxExport.Hub;

namespace Qwen.OnnxExport.Tests.Hub;

/// <summary>The human progress line and its ETA.</summary>
public sealed class DownloadProgressTests
{
    [Fact]
    public void ToString_BriefsExample_Matches()
        => Assert.Equal("412.0/988.1 MB  41.7%  85.3 MB/s  ETA 0:07  model-00001-of-00002.safetensors", new DownloadProgress("model-00001-of-00002.safetensors", 412_000_000, 988_100_000, 85_300_000).ToString());

    [Fact]
    public void Eta_RateUnknown_IsNull()
    {
        var p = new DownloadProgress("f", 1, 10, 0);
        Assert.Null(p.Eta);
        Assert.Contains("ETA -:--", p.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Eta_RemainingOverRate() => Assert.Equal(TimeSpan.FromSeconds(4000), new DownloadProgress("f", 2_000_000, 10_000_000, 2_000).Eta);

    [Fact]
    public void ToString_OverAnHour_ShowsHours() => Assert.Contains("ETA 1:06:40", new DownloadProgress("f", 2_000_000, 10_000_000, 2_000).ToString(), StringComparison.Ordinal);
}
