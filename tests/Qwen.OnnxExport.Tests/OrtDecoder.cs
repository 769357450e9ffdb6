using System.Text.Json;
using Microsoft.ML.OnnxRuntime;

namespace Qwen.OnnxExport.Tests;

/// <summary>
/// Drives an exported model.onnx directly with ONNX Runtime, the way the manifest says: one KV buffer per layer
/// [slots, kv_heads, cache_len, head_dim] bound as both past and present, prefill on one slot, decode over slots [0, B).
/// </summary>
internal sealed class OrtDecoder : IDisposable
{
    private readonly InferenceSession _session;
    private readonly int _layers, _kv, _hd, _cacheLen, _slots;
    private readonly float[][] _k, _v;
    private readonly Float16[][] _k16, _v16; // the fp16 export's cache

    public OrtDecoder(string modelDir, int slots = 4, int cacheLen = 64)
    {
        using var manifest = JsonDocument.Parse(File.ReadAllText(Path.Combine(modelDir, "manifest.json")));
        var m = manifest.RootElement;
        _layers = m.GetProperty("num_hidden_layers").GetInt32();
        _kv = m.GetProperty("num_key_value_heads").GetInt32();
        _hd = m.GetProperty("head_dim").GetInt32();
        Vocab = m.GetProperty("vocab_size").GetInt32();
        _slots = slots;
        _cacheLen = cacheLen;
        using var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL, IntraOpNumThreads = 1 };
        _session = new InferenceSession(Path.Combine(modelDir, "model.onnx"), options);
        var half = m.GetProperty("kv_cache_dtype").GetString() == "float16";
        _k = Enumerable.Range(0, half ? 0 : _layers).Select(_ => new float[SlotSize * slots]).ToArray();
        _v = Enumerable.Range(0, half ? 0 : _layers).Select(_ => new float[SlotSize * slots]).ToArray();
        _k16 = Enumerable.Range(0, half ? _layers : 0).Select(_ => new Float16[SlotSize * slots]).ToArray();
        _v16 = Enumerable.Range(0, half ? _layers : 0).Select(_ => new Float16[SlotSize * slots]).ToArray();
    }

    public int Vocab { get; }

    public InferenceSession Session => _session;

    private int SlotSize => _kv * _cacheLen * _hd;

    /// <summary>Appends <paramref name="tokens"/> to slot <paramref name="slot"/> holding <paramref name="past"/> tokens; logits of the last one.</summary>
    public float[] Prefill(int slot, int[] tokens, int past)
        => Run(slot, 1, tokens.Select(t => (long)t).ToArray(), tokens.Length, [past + tokens.Length - 1], past + tokens.Length)[0];

    /// <summary>One token per slot 0..B-1, each appended at its own past length.</summary>
    public float[][] Decode(int[] tokens, int[] pasts)
        => Run(0, tokens.Length, tokens.Select(t => (long)t).ToArray(), 1, pasts.ToArray(), pasts.Max() + 1);

    public void Dispose() => _session.Dispose();

    private float[][] Run(int firstSlot, int batch, long[] ids, int seq, int[] seqLensK, int total)
    {
        using var binding = _session.CreateIoBinding();
        var disposables = new List<IDisposable>();
        OrtValue Track(OrtValue v)
        {
            disposables.Add(v);
            return v;
        }
        binding.BindInput("input_ids", Track(OrtValue.CreateTensorValueFromMemory(ids, [batch, seq])));
        binding.BindInput("seqlens_k", Track(OrtValue.CreateTensorValueFromMemory(seqLensK, [batch])));
        binding.BindInput("total_sequence_length", Track(OrtValue.CreateTensorValueFromMemory(new[] { total }, [])));
        for (var l = 0; l < _layers; l++)
        {
            long[] shape = [batch, _kv, _cacheLen, _hd];
            var k = Track(_k16.Length > 0
                ? OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, new Memory<Float16>(_k16[l], firstSlot * SlotSize, batch * SlotSize), shape)
                : OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, new Memory<float>(_k[l], firstSlot * SlotSize, batch * SlotSize), shape));
            var v = Track(_v16.Length > 0
                ? OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, new Memory<Float16>(_v16[l], firstSlot * SlotSize, batch * SlotSize), shape)
                : OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, new Memory<float>(_v[l], firstSlot * SlotSize, batch * SlotSize), shape));
            binding.BindInput($"past_key_values.{l}.key", k);
            binding.BindOutput($"present.{l}.key", k);
            binding.BindInput($"past_key_values.{l}.value", v);
            binding.BindOutput($"present.{l}.value", v);
        }
        var logits = new float[batch * Vocab];
        binding.BindOutput("logits", Track(OrtValue.CreateTensorValueFromMemory(logits, [batch, Vocab])));
        using var runOptions = new RunOptions();
        _session.RunWithBinding(runOptions, binding);
        foreach (var d in disposables)
        {
            d.Dispose();
        }
        return Enumerable.Range(0, batch).Select(b => logits.AsSpan(b * Vocab, Vocab).ToArray()).ToArray();
    }
}
