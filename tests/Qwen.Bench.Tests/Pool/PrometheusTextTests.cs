using Qwen.Bench.Pool;

namespace Qwen.Bench.Tests.Pool;

public class PrometheusTextTests
{
    // Written by hand after the text format's specification and a scrape of our server: HELP and TYPE lines, an
    // unlabelled gauge, labelled counters (one label value with escapes, one series with a timestamp), a histogram's
    // buckets with +Inf, exponents of both signs, NaN and -Inf.
    private const string Sample = """
        # HELP qwen_requests_waiting Sequences waiting for a slot.
        # TYPE qwen_requests_waiting gauge
        qwen_requests_waiting 3
        # HELP qwen_requests_running Sequences holding a KV slot.
        # TYPE qwen_requests_running gauge
        qwen_requests_running 2
        # TYPE qwen_kv_cache_usage_ratio gauge
        qwen_kv_cache_usage_ratio 6.25e-1
        # TYPE qwen_requests_finished_total counter
        qwen_requests_finished_total{finish_reason="length"} 1.5E+3
        qwen_requests_finished_total{finish_reason="stop"} 20 1712345678901
        qwen_requests_finished_total{finish_reason="a \"quoted\", {odd} \\ one\n"} 1
        # TYPE qwen_time_to_first_token_seconds histogram
        qwen_time_to_first_token_seconds_bucket{le="0.005"} 0
        qwen_time_to_first_token_seconds_bucket{le="+Inf"} 7
        qwen_time_to_first_token_seconds_sum 1.25e-3
        dotnet_gc_pause_ratio NaN
        some_floor -Inf
        """;

    [Fact]
    public void Parse_HandWrittenScrape_ReadsEverySampleAndSkipsComments()
    {
        var samples = PrometheusText.Parse(Sample);

        Assert.Equal(11, samples.Count);
        Assert.Equal(("qwen_requests_waiting", 3.0), (samples[0].Name, samples[0].Value));
        Assert.Empty(samples[0].Labels);
        Assert.Equal(0.625, samples[2].Value);
        Assert.Equal("length", samples[3].Labels["finish_reason"]);
        Assert.Equal(1500, samples[3].Value);
        Assert.Equal(20, samples[4].Value); // the timestamp is not the value
        Assert.Equal("a \"quoted\", {odd} \\ one\n", samples[5].Labels["finish_reason"]);
        Assert.Equal("+Inf", samples[7].Labels["le"]);
        Assert.Equal(0.00125, samples[8].Value);
        Assert.True(double.IsNaN(samples[9].Value));
        Assert.Equal(double.NegativeInfinity, samples[10].Value);
    }

    [Fact]
    public void Value_UnlabelledOrLabelledOrMissing_GivesTheGaugeTheSumOrNull()
    {
        var samples = PrometheusText.Parse(Sample);

        Assert.Equal(2, PrometheusText.Value(samples, "qwen_requests_running"));
        Assert.Equal(1521, PrometheusText.Value(samples, "qwen_requests_finished_total"));
        Assert.Null(PrometheusText.Value(samples, "qwen_requests"));
    }

    [Fact]
    public void FromScrape_OurGauges_AreTheReplicasFigures()
    {
        var m = ReplicaMetrics.FromScrape(Sample, 42);

        Assert.Equal(new ReplicaMetrics(3, 2, 0.625, 42), m);
    }

    [Theory]
    [InlineData("qwen_requests_waiting")]
    [InlineData("qwen_requests_waiting three")]
    [InlineData("qwen_requests_waiting{le=\"1} 3")]
    [InlineData("{le=\"1\"} 3")]
    [InlineData("qwen_requests_waiting 1 2 3")]
    public void Parse_MalformedLine_Throws(string line)
        => Assert.Throws<FormatException>(() => PrometheusText.Parse("# TYPE x gauge\n" + line + "\n"));

    [Fact]
    public void FromScrape_NaNOrMissingGauge_IsRefused()
    {
        Assert.Throws<FormatException>(() => ReplicaMetrics.FromScrape("qwen_requests_waiting 0\nqwen_requests_running 0\nqwen_kv_cache_usage_ratio NaN\n", 0));
        Assert.Throws<FormatException>(() => ReplicaMetrics.FromScrape("qwen_requests_waiting 0\nqwen_requests_running 0\n", 0));
    }
}
