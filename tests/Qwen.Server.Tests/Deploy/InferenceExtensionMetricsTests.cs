using System.Text.RegularExpressions;

namespace Qwen.Server.Tests.Deploy;

/// <summary>
/// The metric names the EPP's ConfigMap maps (core-metrics-extractor engineConfigs) against a real server's /metrics:
/// each must be a gauge there, or the EPP would score every pod as empty. The cache-info metric must also carry the
/// labels the extractor reads (block_size and num_gpu_blocks, its defaults).
/// </summary>
public sealed class InferenceExtensionMetricsTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    [Fact]
    public async Task EppMetricNames_AreGaugesOnTheServersMetrics()
    {
        var parameters = await InferenceExtensionTests.ExtractorParametersAsync();
        var engine = parameters.GetProperty("defaultEngine").GetString();
        var specs = parameters.GetProperty("engineConfigs").EnumerateArray().Single(e => e.GetProperty("name").GetString() == engine);
        string[] fields = ["queuedRequestsSpec", "runningRequestsSpec", "kvUsageSpec", "cacheInfoSpec"];
        // A spec is "family{label=value}"; the family is the metric's name. An empty spec turns the metric off.
        var names = fields.ToDictionary(f => f, f => Regex.Replace(specs.GetProperty(f).GetString()!, @"\{.*\}$", ""));
        Assert.All(names, n => Assert.NotEmpty(n.Value));
        Assert.Equal("", specs.GetProperty("loraSpec").GetString()); // no LoRA: the EPP would log a missing family otherwise

        var text = await server.Http.GetStringAsync("/metrics");
        var missing = names.Values.Where(n => !text.Split('\n').Contains($"# TYPE {n} gauge")).ToList();
        Assert.True(missing.Count == 0, $"not a gauge on /metrics: {string.Join(", ", missing)}");

        var cacheInfo = Regex.Match(text, $@"^{Regex.Escape(names["cacheInfoSpec"])}\{{(.*)\}} 1$", RegexOptions.Multiline);
        Assert.True(cacheInfo.Success, $"no {names["cacheInfoSpec"]}{{...}} 1 sample");
        var labels = Regex.Matches(cacheInfo.Groups[1].Value, @"(\w+)=""([^""]*)""").ToDictionary(m => m.Groups[1].Value, m => m.Groups[2].Value);
        Assert.True(int.Parse(labels["block_size"], System.Globalization.CultureInfo.InvariantCulture) > 0);
        Assert.True(int.Parse(labels["num_gpu_blocks"], System.Globalization.CultureInfo.InvariantCulture) > 0);
    }
}
