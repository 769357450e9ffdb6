using System.Text.Json;
using Microsoft.ML.OnnxRuntime;

namespace Qwen.OnnxExport.Tests.Graph;

/// <summary>
/// candidates.onnx through ONNX Runtime (CPU) against a naive reference written here: the K best of each row by value,
/// equal values lower id first (the rule the sampler's exactness relies on), log-sum-exp in double, and the listed rows
/// bit for bit. Inputs are quantized so that ties are everywhere, at the K-th place too.
/// </summary>
public sealed class CandidatesGraphTests : IDisposable
{
    private readonly InferenceSession _session;
    private readonly int _vocab;
    private readonly int _k;

    public CandidatesGraphTests()
    {
        var dir = TinyModel.Directory();
        using var manifest = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "manifest.json")));
        var m = manifest.RootElement;
        _vocab = m.GetProperty("vocab_size").GetInt32();
        var candidates = m.GetProperty("candidates");
        _k = candidates.GetProperty("k").GetInt32();
        using var options = new SessionOptions { IntraOpNumThreads = 1 };
        _session = new InferenceSession(Path.Combine(dir, candidates.GetProperty("onnx_file").GetString()!), options);
    }

    public void Dispose() => _session.Dispose();

    [Theory]
    [InlineData(1, 0.25f, 1)]
    [InlineData(5, 0.5f, 2)]
    [InlineData(9, 1f, 3)]
    public void Run_QuantizedRandomRows_MatchNaiveTopKLogSumExpAndRows(int batch, float step, int seed)
    {
        var random = new Random(seed);
        var logits = new float[batch * _vocab];
        for (var i = 0; i < logits.Length; i++)
        {
            // Values on a grid of `step` with a standard deviation near 6 (as the random presets' logits): thousands of copies of each value.
            logits[i] = MathF.Round((float)(Normal(random) * 6 / step)) * step;
        }
        Check(logits, batch, [batch - 1, 0, batch - 1]);
    }

    [Fact]
    public void Run_TiesAtTheKthPlace_LowerIdsKeptAndOrderedFirst()
    {
        // Row 0: K-3 distinct high values at high ids, then 10 copies of the K-th value, some below and some above those ids.
        // Row 1: the whole row equal: ids 0..K-1. Row 2: every value twice, mirrored, so each tie pairs a low and a high id.
        var logits = new float[3 * _vocab];
        Array.Fill(logits, -5f, 0, _vocab);
        for (var i = 0; i < _k - 3; i++)
        {
            logits[_vocab - 1 - (i * 7)] = 10f + i;
        }
        foreach (var id in new[] { 90_000, 5, 151_000, 77, 3, 120_000, 1000, 2, 150_999, 60_000 })
        {
            logits[id] = 4f;
        }
        Array.Fill(logits, 1.5f, _vocab, _vocab);
        for (var i = 0; i < _vocab / 2; i++)
        {
            logits[(2 * _vocab) + i] = logits[(3 * _vocab) - 1 - i] = (i % 300) * 0.5f;
        }
        var (values, ids, _, _) = Check(logits, 3, []);
        Assert.Equal([2, 3, 5], ids.AsSpan(_k - 3, 3).ToArray().Select(i => (int)i)); // the three lowest of the ten tied ids
        Assert.Equal(Enumerable.Range(0, _k).Select(i => (long)i), ids.AsSpan(_k, _k).ToArray());
        Assert.All(values.AsSpan(_k, _k).ToArray(), v => Assert.Equal(1.5f, v));
    }

    [Fact]
    public void Run_LargeLogits_LogSumExpStaysFinite()
    {
        // exp(100) overflows float32: the graph must subtract the maximum (ReduceLogSumExp does).
        var logits = new float[2 * _vocab];
        var random = new Random(4);
        for (var i = 0; i < logits.Length; i++)
        {
            logits[i] = (i < _vocab ? 100f : -100f) + (float)random.NextDouble();
        }
        Check(logits, 2, [1]);
    }

    [Fact]
    public void Run_NoRowsListed_EmptyRowLogits()
    {
        var logits = Enumerable.Range(0, 2 * _vocab).Select(i => (float)(i % 97)).ToArray();
        var (_, _, _, rows) = Check(logits, 2, []);
        Assert.Empty(rows);
    }

    /// <summary>Runs the graph and checks every output against the naive reference; returns the outputs.</summary>
    private (float[] Values, long[] Ids, float[] LogSumExp, float[] Rows) Check(float[] logits, int batch, long[] rows)
    {
        using var logitsValue = OrtValue.CreateTensorValueFromMemory(logits, [batch, _vocab]);
        using var rowsValue = OrtValue.CreateTensorValueFromMemory(rows, [rows.Length]);
        using var runOptions = new RunOptions();
        using var outputs = _session.Run(runOptions, ["logits", "rows"], [logitsValue, rowsValue], ["top_values", "top_ids", "log_sum_exp", "row_logits"]);
        var values = outputs[0].GetTensorDataAsSpan<float>().ToArray();
        var ids = outputs[1].GetTensorDataAsSpan<long>().ToArray();
        var lse = outputs[2].GetTensorDataAsSpan<float>().ToArray();
        var rowLogits = outputs[3].GetTensorDataAsSpan<float>().ToArray();
        Assert.Equal([batch, _k], outputs[0].GetTensorTypeAndShape().Shape);
        Assert.Equal([rows.Length, _vocab], outputs[3].GetTensorTypeAndShape().Shape);
        for (var b = 0; b < batch; b++)
        {
            var row = logits.AsSpan(b * _vocab, _vocab).ToArray();
            var expected = Enumerable.Range(0, _vocab).OrderByDescending(i => row[i]).ThenBy(i => i).Take(_k).ToArray();
            Assert.Equal(expected.Select(i => (long)i), ids.AsSpan(b * _k, _k).ToArray());
            Assert.Equal(expected.Select(i => row[i]), values.AsSpan(b * _k, _k).ToArray());
            var max = row.Max();
            var reference = max + Math.Log(row.Sum(x => Math.Exp(x - (double)max)));
            // Summed in double and rounded to float32 once: within two float32 ulps of the double reference.
            var ulp = MathF.BitIncrement((float)Math.Abs(reference)) - (float)Math.Abs(reference);
            Assert.True(Math.Abs(lse[b] - reference) <= 2 * ulp, $"row {b}: log-sum-exp {lse[b]}, reference {reference}");
        }
        for (var r = 0; r < rows.Length; r++)
        {
            Assert.True(logits.AsSpan((int)rows[r] * _vocab, _vocab).SequenceEqual(rowLogits.AsSpan(r * _vocab, _vocab)), $"listed row {r} (logits row {rows[r]}) differs");
        }
        return (values, ids, lse, rowLogits);
    }

    private static double Normal(Random random) => Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
}
