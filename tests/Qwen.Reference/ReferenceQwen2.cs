using System.Numerics.Tensors;
using System.Text.Json;

namespace Qwen.Reference;

/// <summary>
/// A naive Qwen2 forward pass in double precision, straight from Hugging Face's modeling_qwen2.py: RMSNorm, q/k/v with
/// bias, rotate-half RoPE (plain or YaRN, as config.json's rope_scaling says: <see cref="RopeReference"/>), grouped-query
/// causal attention, o_proj, SwiGLU MLP, final norm, lm_head. Reads only config.json and model.safetensors. Positions
/// are appended to a <see cref="ReferenceSequence"/> (its KV cache), so long prompts cost one pass; the weights are
/// read-only after construction, so one instance may serve several sequences.
/// </summary>
public sealed class ReferenceQwen2
{
    private readonly double _eps;
    private readonly double[] _embedding, _lmHead, _finalNorm;
    private readonly Layer[] _layers;

    /// <summary>Reads <c>config.json</c> and <c>model.safetensors</c> of the Hugging Face checkpoint in <paramref name="checkpointDir"/>.</summary>
    public ReferenceQwen2(string checkpointDir)
    {
        using var config = JsonDocument.Parse(File.ReadAllText(Path.Combine(checkpointDir, "config.json")));
        var c = config.RootElement;
        Hidden = c.GetProperty("hidden_size").GetInt32();
        Intermediate = c.GetProperty("intermediate_size").GetInt32();
        Heads = c.GetProperty("num_attention_heads").GetInt32();
        KvHeads = c.GetProperty("num_key_value_heads").GetInt32();
        VocabSize = c.GetProperty("vocab_size").GetInt32();
        _eps = c.GetProperty("rms_norm_eps").GetDouble();
        HeadDim = Hidden / Heads;
        Rope = RopeReference.FromConfig(c);
        var w = new SafeTensorsFile(Path.Combine(checkpointDir, "model.safetensors"));
        _embedding = w["model.embed_tokens.weight"];
        _lmHead = c.GetProperty("tie_word_embeddings").GetBoolean() ? _embedding : w["lm_head.weight"];
        _finalNorm = w["model.norm.weight"];
        _layers = Enumerable.Range(0, c.GetProperty("num_hidden_layers").GetInt32()).Select(l => new Layer(w, $"model.layers.{l}.")).ToArray();
    }

    /// <summary>hidden_size.</summary>
    public int Hidden { get; }

    /// <summary>intermediate_size.</summary>
    public int Intermediate { get; }

    /// <summary>num_attention_heads.</summary>
    public int Heads { get; }

    /// <summary>num_key_value_heads.</summary>
    public int KvHeads { get; }

    /// <summary>hidden_size / num_attention_heads.</summary>
    public int HeadDim { get; }

    /// <summary>vocab_size: the length of a logits row.</summary>
    public int VocabSize { get; }

    /// <summary>num_hidden_layers.</summary>
    public int LayerCount => _layers.Length;

    /// <summary>The rotary parameters every position is rotated with.</summary>
    public RopeReference Rope { get; }

    /// <summary>An empty sequence with room for <paramref name="capacity"/> positions.</summary>
    public ReferenceSequence Start(int capacity) => new(this, capacity);

    /// <summary>Logits [positions][vocab] for every position of <paramref name="tokens"/>.</summary>
    public double[][] Forward(IReadOnlyList<int> tokens)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        var sequence = Start(tokens.Count);
        return tokens.Select(sequence.Append).ToArray();
    }

    /// <summary>
    /// Runs <paramref name="tokens"/> at positions [cache.Length, cache.Length + n) through every layer, writing their keys and
    /// values into <paramref name="cache"/>; the logits of the last one when <paramref name="logits"/>, else null.
    /// </summary>
    internal double[]? Run(ReferenceSequence cache, ReadOnlySpan<int> tokens, bool logits)
    {
        int n = tokens.Length, hd = HeadDim, past = cache.Length;
        var x = new double[n][];
        for (var t = 0; t < n; t++)
        {
            x[t] = _embedding.AsSpan(tokens[t] * Hidden, Hidden).ToArray();
        }
        var q = new double[n][];
        for (var l = 0; l < _layers.Length; l++)
        {
            var layer = _layers[l];
            for (var t = 0; t < n; t++)
            {
                var normed = RmsNorm(x[t], layer.InputNorm);
                q[t] = Linear(normed, layer.Q, layer.QBias, Heads * hd);
                var k = Linear(normed, layer.K, layer.KBias, KvHeads * hd);
                var v = Linear(normed, layer.V, layer.VBias, KvHeads * hd);
                ApplyRope(q[t], Heads, past + t);
                ApplyRope(k, KvHeads, past + t);
                cache.Write(l, past + t, k, v);
            }
            var attention = cache.Attend(l, q, past);
            for (var t = 0; t < n; t++)
            {
                var o = Linear(attention[t], layer.O, null, Hidden);
                TensorPrimitives.Add(x[t], o, x[t]);
                var normed = RmsNorm(x[t], layer.PostNorm);
                var gate = Linear(normed, layer.Gate, null, Intermediate);
                var up = Linear(normed, layer.Up, null, Intermediate);
                for (var i = 0; i < gate.Length; i++)
                {
                    gate[i] = gate[i] / (1 + Math.Exp(-gate[i])) * up[i]; // SiLU(gate) * up
                }
                TensorPrimitives.Add(x[t], Linear(gate, layer.Down, null, Hidden), x[t]);
            }
        }
        cache.Advance(n);
        return logits ? Linear(RmsNorm(x[^1], _finalNorm), _lmHead, null, VocabSize) : null;
    }

    private double[] RmsNorm(double[] v, double[] weight)
    {
        var rms = Math.Sqrt((TensorPrimitives.Dot(v, v) / v.Length) + _eps);
        var y = new double[v.Length];
        for (var i = 0; i < v.Length; i++)
        {
            y[i] = v[i] / rms * weight[i];
        }
        return y;
    }

    /// <summary>y = W v + b with W [outDim, in] row-major.</summary>
    private static double[] Linear(double[] v, double[] weight, double[]? bias, int outDim)
    {
        var y = new double[outDim];
        for (var o = 0; o < outDim; o++)
        {
            y[o] = (bias?[o] ?? 0) + TensorPrimitives.Dot(weight.AsSpan(o * v.Length, v.Length), v);
        }
        return y;
    }

    /// <summary>rotate_half RoPE: (x1, x2) -> (x1 cos - x2 sin, x2 cos + x1 sin) with the halves of each head.</summary>
    private void ApplyRope(double[] v, int heads, int position)
    {
        var half = HeadDim / 2;
        for (var i = 0; i < half; i++)
        {
            var cos = Rope.Cos(position, i);
            var sin = Rope.Sin(position, i);
            for (var head = 0; head < heads; head++)
            {
                var a = v[(head * HeadDim) + i];
                var b = v[(head * HeadDim) + i + half];
                v[(head * HeadDim) + i] = (a * cos) - (b * sin);
                v[(head * HeadDim) + i + half] = (b * cos) + (a * sin);
            }
        }
    }

    /// <summary>One decoder layer's tensors, looked up once.</summary>
    private sealed class Layer(SafeTensorsFile w, string p)
    {
        public double[] InputNorm { get; } = w[p + "input_layernorm.weight"];

        public double[] Q { get; } = w[p + "self_attn.q_proj.weight"];

        public double[] QBias { get; } = w[p + "self_attn.q_proj.bias"];

        public double[] K { get; } = w[p + "self_attn.k_proj.weight"];

        public double[] KBias { get; } = w[p + "self_attn.k_proj.bias"];

        public double[] V { get; } = w[p + "self_attn.v_proj.weight"];

        public double[] VBias { get; } = w[p + "self_attn.v_proj.bias"];

        public double[] O { get; } = w[p + "self_attn.o_proj.weight"];

        public double[] PostNorm { get; } = w[p + "post_attention_layernorm.weight"];

        public double[] Gate { get; } = w[p + "mlp.gate_proj.weight"];

        public double[] Up { get; } = w[p + "mlp.up_proj.weight"];

        public double[] Down { get; } = w[p + "mlp.down_proj.weight"];
    }
}
