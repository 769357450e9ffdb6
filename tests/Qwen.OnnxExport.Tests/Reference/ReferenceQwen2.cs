using System.Text.Json;

namespace Qwen.OnnxExport.Tests.Reference;

/// <summary>
/// A naive Qwen2 forward pass in double precision, plain loops, straight from Hugging Face's modeling_qwen2.py:
/// RMSNorm, q/k/v with bias, rotate-half RoPE, grouped-query causal attention, o_proj, SwiGLU MLP, final norm, lm_head.
/// </summary>
internal sealed class ReferenceQwen2
{
    private readonly SafeTensorsFile _w;
    private readonly int _h, _inter, _layers, _heads, _kvHeads, _hd, _vocab;
    private readonly double _eps, _theta;
    private readonly bool _tied;

    public ReferenceQwen2(string checkpointDir)
    {
        using var config = JsonDocument.Parse(File.ReadAllText(Path.Combine(checkpointDir, "config.json")));
        var c = config.RootElement;
        _h = c.GetProperty("hidden_size").GetInt32();
        _inter = c.GetProperty("intermediate_size").GetInt32();
        _layers = c.GetProperty("num_hidden_layers").GetInt32();
        _heads = c.GetProperty("num_attention_heads").GetInt32();
        _kvHeads = c.GetProperty("num_key_value_heads").GetInt32();
        _vocab = c.GetProperty("vocab_size").GetInt32();
        _eps = c.GetProperty("rms_norm_eps").GetDouble();
        _theta = c.GetProperty("rope_theta").GetDouble();
        _tied = c.GetProperty("tie_word_embeddings").GetBoolean();
        _hd = _h / _heads;
        _w = new SafeTensorsFile(Path.Combine(checkpointDir, "model.safetensors"));
    }

    /// <summary>Logits [positions][vocab] for every position of <paramref name="tokens"/>.</summary>
    public double[][] Forward(IReadOnlyList<int> tokens)
    {
        var n = tokens.Count;
        var emb = _w["model.embed_tokens.weight"];
        var x = new double[n][];
        for (var t = 0; t < n; t++)
        {
            x[t] = emb.AsSpan(tokens[t] * _h, _h).ToArray();
        }
        for (var l = 0; l < _layers; l++)
        {
            var p = $"model.layers.{l}.";
            var normed = x.Select(v => RmsNorm(v, _w[p + "input_layernorm.weight"])).ToArray();
            var q = normed.Select(v => Linear(v, _w[p + "self_attn.q_proj.weight"], _w[p + "self_attn.q_proj.bias"], _heads * _hd)).ToArray();
            var k = normed.Select(v => Linear(v, _w[p + "self_attn.k_proj.weight"], _w[p + "self_attn.k_proj.bias"], _kvHeads * _hd)).ToArray();
            var v2 = normed.Select(v => Linear(v, _w[p + "self_attn.v_proj.weight"], _w[p + "self_attn.v_proj.bias"], _kvHeads * _hd)).ToArray();
            for (var t = 0; t < n; t++)
            {
                Rope(q[t], _heads, t);
                Rope(k[t], _kvHeads, t);
            }
            var attn = new double[n][];
            for (var t = 0; t < n; t++)
            {
                attn[t] = new double[_heads * _hd];
                for (var head = 0; head < _heads; head++)
                {
                    var kvHead = head / (_heads / _kvHeads);
                    var scores = new double[t + 1];
                    for (var s = 0; s <= t; s++)
                    {
                        double dot = 0;
                        for (var d = 0; d < _hd; d++)
                        {
                            dot += q[t][(head * _hd) + d] * k[s][(kvHead * _hd) + d];
                        }
                        scores[s] = dot / Math.Sqrt(_hd);
                    }
                    var max = scores.Max();
                    var sum = scores.Sum(z => Math.Exp(z - max));
                    for (var s = 0; s <= t; s++)
                    {
                        var weight = Math.Exp(scores[s] - max) / sum;
                        for (var d = 0; d < _hd; d++)
                        {
                            attn[t][(head * _hd) + d] += weight * v2[s][(kvHead * _hd) + d];
                        }
                    }
                }
            }
            for (var t = 0; t < n; t++)
            {
                var o = Linear(attn[t], _w[p + "self_attn.o_proj.weight"], null, _h);
                var h = x[t].Zip(o, (a, b) => a + b).ToArray();
                var n2 = RmsNorm(h, _w[p + "post_attention_layernorm.weight"]);
                var gate = Linear(n2, _w[p + "mlp.gate_proj.weight"], null, _inter);
                var up = Linear(n2, _w[p + "mlp.up_proj.weight"], null, _inter);
                var act = gate.Zip(up, (g, u) => g / (1 + Math.Exp(-g)) * u).ToArray();
                var down = Linear(act, _w[p + "mlp.down_proj.weight"], null, _h);
                x[t] = h.Zip(down, (a, b) => a + b).ToArray();
            }
        }
        var head2 = _tied ? _w["model.embed_tokens.weight"] : _w["lm_head.weight"];
        return x.Select(v => Linear(RmsNorm(v, _w["model.norm.weight"]), head2, null, _vocab)).ToArray();
    }

    private double[] RmsNorm(double[] v, double[] weight)
    {
        var rms = Math.Sqrt((v.Sum(z => z * z) / v.Length) + _eps);
        return v.Select((z, i) => z / rms * weight[i]).ToArray();
    }

    private static double[] Linear(double[] v, double[] weight, double[]? bias, int outDim)
    {
        var y = new double[outDim];
        for (var o = 0; o < outDim; o++)
        {
            double sum = bias?[o] ?? 0;
            for (var i = 0; i < v.Length; i++)
            {
                sum += weight[((long)o * v.Length) + i] * v[i];
            }
            y[o] = sum;
        }
        return y;
    }

    /// <summary>rotate_half RoPE: (x1, x2) -> (x1 cos - x2 sin, x2 cos + x1 sin) with the halves of each head.</summary>
    private void Rope(double[] v, int heads, int position)
    {
        var half = _hd / 2;
        for (var head = 0; head < heads; head++)
        {
            for (var i = 0; i < half; i++)
            {
                var angle = position / Math.Pow(_theta, 2.0 * i / _hd);
                var a = v[(head * _hd) + i];
                var b = v[(head * _hd) + i + half];
                v[(head * _hd) + i] = (a * Math.Cos(angle)) - (b * Math.Sin(angle));
                v[(head * _hd) + i + half] = (b * Math.Cos(angle)) + (a * Math.Sin(angle));
            }
        }
    }
}
