using System.Text.Json.Nodes;
using Qwen.OnnxExport.Checkpoint;

namespace Qwen.OnnxExport.Tests.Checkpoint;

/// <summary>The demo's random weights against the tests': softer output rows, a wider &lt;|im_end|&gt; row, and max_new_tokens.</summary>
public sealed class RandomCheckpointTests : IDisposable
{
    private const int EndToken = 151645; // <|im_end|> in the Qwen2.5 vocabulary
    private readonly TestDirectories _dirs = new();

    public void Dispose() => _dirs.Dispose();

    [Theory]
    [InlineData("tiny", false, "model.embed_tokens.weight", 64, 6.0, 1.0)] // the tests' weights: logits with std ~6
    [InlineData("tiny", true, "model.embed_tokens.weight", 64, 1.5, 2.5)] // tied: the embedding is the output layer
    [InlineData("small", true, "lm_head.weight", 256, 1.5, 2.5)]
    [InlineData("small", true, "model.embed_tokens.weight", 256, 1.5, 1.0)] // untied: the input row of <|im_end|> stays as it is
    public void OutputRows_HaveTheDocumentedScale(string preset, bool demo, string tensor, int hidden, double scale, double endRatio)
    {
        var dir = _dirs.Temp(preset);
        RandomCheckpoint.Write(preset, 1234, dir, demo);
        using var reader = new SafeTensorsReader(dir, "bfloat16");
        var rows = new float[1000 * hidden];
        reader.ReadRows(tensor, 0, 1000, rows);
        var end = new float[hidden];
        reader.ReadRows(tensor, EndToken, 1, end);
        var typical = Rms(rows);
        Assert.InRange(typical, 0.97 * scale / Math.Sqrt(hidden), 1.03 * scale / Math.Sqrt(hidden));
        Assert.InRange(Rms(end) / typical, 0.7 * endRatio, 1.3 * endRatio); // one row of `hidden` uniform values
    }

    [Theory]
    [InlineData(false, null)]
    [InlineData(true, 256)]
    public void GenerationConfig_DemoSetsMaxNewTokens(bool demo, int? expected)
    {
        var dir = _dirs.Temp("generation");
        RandomCheckpoint.Write("tiny", 1234, dir, demo);
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "generation_config.json")))!;
        Assert.Equal(expected, (int?)config["max_new_tokens"]);
        Assert.Equal(0.7, (double)config["temperature"]!, 6); // the rest is Qwen2.5-Instruct's, as bundled
    }

    private static double Rms(float[] values) => Math.Sqrt(values.Sum(v => (double)v * v) / values.Length);
}
