using System.Text.Json;
using Microsoft.ML.OnnxRuntime;

namespace Qwen.OnnxExport.Tests;

/// <summary>manifest.json agrees with config.json and with the graph ONNX Runtime actually loads.</summary>
public sealed class ManifestContractTests
{
    [Fact]
    public void Manifest_MatchesConfigAndSessionMetadata()
    {
        var dir = TinyModel.Directory();
        using var manifest = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "manifest.json")));
        using var config = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "source", "config.json")));
        var m = manifest.RootElement;
        var c = config.RootElement;
        foreach (var key in new[] { "num_hidden_layers", "num_attention_heads", "num_key_value_heads", "hidden_size", "intermediate_size", "vocab_size" })
        {
            Assert.Equal(c.GetProperty(key).GetInt32(), m.GetProperty(key).GetInt32());
        }
        Assert.Equal(c.GetProperty("hidden_size").GetInt32() / c.GetProperty("num_attention_heads").GetInt32(), m.GetProperty("head_dim").GetInt32());

        using var ort = new OrtDecoder(dir, slots: 1, cacheLen: 8);
        var inputs = ort.Session.InputMetadata;
        var outputs = ort.Session.OutputMetadata;
        Assert.Equal(typeof(long), inputs[m.GetProperty("inputs").GetProperty("input_ids").GetString()!].ElementType);
        Assert.Equal(typeof(int), inputs[m.GetProperty("inputs").GetProperty("seqlens_k").GetString()!].ElementType);
        Assert.Equal(typeof(float), outputs[m.GetProperty("outputs").GetProperty("logits").GetString()!].ElementType);
        Assert.Equal(m.GetProperty("vocab_size").GetInt32(), outputs["logits"].Dimensions[1]);
        for (var l = 0; l < m.GetProperty("num_hidden_layers").GetInt32(); l++)
        {
            var past = inputs[m.GetProperty("inputs").GetProperty("past_key").GetString()!.Replace("{layer}", $"{l}", StringComparison.Ordinal)];
            Assert.Equal([-1, m.GetProperty("num_key_value_heads").GetInt32(), -1, m.GetProperty("head_dim").GetInt32()], past.Dimensions);
            Assert.True(outputs.ContainsKey(m.GetProperty("outputs").GetProperty("present_value").GetString()!.Replace("{layer}", $"{l}", StringComparison.Ordinal)));
        }
        Assert.Equal(3 + (2 * m.GetProperty("num_hidden_layers").GetInt32()), inputs.Count);
    }

    [Fact]
    public void Manifest_Candidates_NameTheCandidatesSessionsInputsAndOutputs()
    {
        var dir = TinyModel.Directory();
        using var manifest = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "manifest.json")));
        var m = manifest.RootElement;
        var c = m.GetProperty("candidates");
        var k = c.GetProperty("k").GetInt32();
        var vocab = m.GetProperty("vocab_size").GetInt32();
        Assert.Equal(ExportOptions.DefaultCandidates, k);
        using var session = new InferenceSession(Path.Combine(dir, c.GetProperty("onnx_file").GetString()!));
        string Input(string key) => c.GetProperty("inputs").GetProperty(key).GetString()!;
        string Output(string key) => c.GetProperty("outputs").GetProperty(key).GetString()!;
        Is(session.InputMetadata[Input("logits")], typeof(float), [-1, vocab]);
        Is(session.InputMetadata[Input("rows")], typeof(long), [-1]);
        Is(session.OutputMetadata[Output("top_values")], typeof(float), [-1, k]);
        Is(session.OutputMetadata[Output("top_ids")], typeof(long), [-1, k]);
        Is(session.OutputMetadata[Output("log_sum_exp")], typeof(float), [-1]);
        Is(session.OutputMetadata[Output("row_logits")], typeof(float), [-1, vocab]);
        Assert.Equal((2, 4), (session.InputMetadata.Count, session.OutputMetadata.Count));
    }

    private static void Is(NodeMetadata value, Type elementType, int[] dimensions)
    {
        Assert.Equal(elementType, value.ElementType);
        Assert.Equal(dimensions, value.Dimensions);
    }
}
