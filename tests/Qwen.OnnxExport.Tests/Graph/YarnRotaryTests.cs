using System.Text.Json.Nodes;
using Qwen.OnnxExport.Tests.Checkpoint;
using Qwen.OnnxExport.Tests.Cli;
using Qwen.OnnxExport.Tests.Reference;
using Qwen.Reference;
using Xunit.Abstractions;

namespace Qwen.OnnxExport.Tests.Graph;

/// <summary>
/// The rotary tables GroupQueryAttention reads (cos_cache, sin_cache [max_seq_len, head_dim / 2]) value by value
/// against <see cref="RopeReference"/>, computed from the exported checkpoint's config.json: cos(p inv_i) and
/// sin(p inv_i), both times the attention factor, rounded once to float.
/// </summary>
public sealed class YarnRotaryTests(ITestOutputHelper output) : IDisposable
{
    // About one float ulp of a value in [-1.25, 1.25] (2^-23 at 1 is 1.19e-7): the tables are double values rounded once to float.
    private const double Tolerance = 1.5e-7;

    private readonly TestDirectories _dirs = new();

    public void Dispose() => _dirs.Dispose();

    [Fact]
    public void ModelCardYarn_EveryRowOfBothTables_MatchesTheReference()
    {
        var dir = RandomModelCache.GetOrCreate("tiny", "fp32", 1234, yarn: 4.0);
        var rope = RopeReference.FromConfigFile(Path.Combine(dir, "source", "config.json"));
        Assert.Equal((0.1 * Math.Log(4)) + 1, rope.AttentionFactor, 15); // get_mscale(4): the reference read the model card's scaling
        AssertTables(dir, rope, rows: 131_072);
    }

    [Fact]
    public void EveryOptionalFieldGiven_EveryRowOfBothTables_MatchesTheReference()
    {
        var source = _dirs.Copy(d => TestCheckpoint.EditConfig(d, c => c["rope_scaling"] = new JsonObject
        {
            ["type"] = "yarn",
            ["factor"] = 2.0,
            ["original_max_position_embeddings"] = 4096,
            ["beta_fast"] = 16.0,
            ["beta_slow"] = 2.0,
            ["attention_factor"] = 1.25,
            ["truncate"] = false,
        }));
        var dir = _dirs.Temp("out");
        var r = ExportCommandTests.Run("--input", source, "--output", dir);
        Assert.True(r.Exit == 0, r.Error);
        var rope = RopeReference.FromConfigFile(Path.Combine(source, "config.json"));
        Assert.Equal(1.25, rope.AttentionFactor);
        AssertTables(dir, rope, rows: 8192);
    }

    [Fact]
    public void NoRopeScaling_TablesArePlainRope()
    {
        var dir = TinyModel.Directory();
        var rope = RopeReference.FromConfigFile(Path.Combine(dir, "source", "config.json"));
        Assert.Equal(RopeReference.Plain(1_000_000, 16).InverseFrequencies, rope.InverseFrequencies);
        Assert.Equal(1.0, rope.AttentionFactor);
        AssertTables(dir, rope, rows: 32_768);
    }

    /// <summary>Reads the tables every GroupQueryAttention node names and compares each value with the reference's.</summary>
    private void AssertTables(string dir, RopeReference rope, int rows)
    {
        var model = Path.Combine(dir, "model.onnx");
        var attention = OnnxGraphFile.Read(model).Nodes.Where(n => n.OpType == "GroupQueryAttention").ToList();
        Assert.NotEmpty(attention);
        // GroupQueryAttention's inputs 7 and 8 are cos_cache and sin_cache; every layer reads the same two tables.
        var (cosName, sinName) = (attention[0].Inputs[7], attention[0].Inputs[8]);
        Assert.All(attention, n => Assert.Equal((cosName, sinName), (n.Inputs[7], n.Inputs[8])));
        var half = rope.InverseFrequencies.Count;
        foreach (var (name, expected) in new (string, Func<long, int, double>)[] { (cosName, rope.Cos), (sinName, rope.Sin) })
        {
            var (dims, values) = OnnxGraphFile.ReadFloatInitializer(model, name);
            Assert.Equal([rows, half], dims);
            double worst = 0;
            (int P, int I) at = default;
            for (var p = 0; p < rows; p++)
            {
                for (var i = 0; i < half; i++)
                {
                    var error = Math.Abs(values[(p * half) + i] - expected(p, i));
                    if (error > worst)
                    {
                        (worst, at) = (error, (p, i));
                    }
                }
            }
            output.WriteLine($"{name}: max |table - reference| over {rows} x {half} = {worst:E3} at position {at.P}, i {at.I}");
            Assert.True(worst <= Tolerance, $"{name}[{at.P}, {at.I}] = {values[(at.P * half) + at.I]:R}, reference {expected(at.P, at.I):R} (error {worst:E3})");
        }
    }
}
