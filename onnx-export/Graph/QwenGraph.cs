using System.Runtime.InteropServices;
using Qwen.OnnxExport.Checkpoint;
using Qwen.OnnxExport.Onnx;

namespace Qwen.OnnxExport.Graph;

/// <summary>
/// The whole Qwen2 decoder as one ONNX graph, built for serving:
/// <code>
/// input_ids [B,S] ─Gather(embed)─▶ x [B,S,H]
///   per layer:  x ─RMSNorm─▶ QKV MatMul(+bias) ─▶ GroupQueryAttention(rotary fused; past == present buffer) ─▶ o_proj ─(+x)─▶ h
///               h ─RMSNorm─▶ gate/up MatMul ─▶ silu(gate)·up ─▶ down MatMul ─(+h)─▶ x
/// x[:, -1, :] [B,H] ─RMSNorm─▶ lm_head ─▶ logits [B,V]   (only the last position of each row is ever projected)
/// </code>
/// The KV cache is the graph's past/present pair per layer, [B, kv_heads, cache_len, head_dim]; the engine binds the
/// same buffer to both so GroupQueryAttention writes the new positions in place. Positions come from seqlens_k.
/// </summary>
internal sealed class QwenGraph(QwenConfig config, SafeTensorsReader weights, OnnxModelBuilder onnx, Precision precision, int maxSeqLen)
{
    private const int BlockSize = 32; // MatMulNBits block along K; measured fastest/accurate in notes/onnxruntime-1.31.1-cpu.md
    private const int AccuracyLevel = 4; // int8 activations inside MatMulNBits: 2-5x faster than level 0 on this CPU (notes §3)

    private OnnxType Act => precision == Precision.Fp16 ? OnnxType.Float16 : OnnxType.Float;

    /// <summary>Emits every node and streams every weight; <paramref name="progress"/> gets 0..1 per layer.</summary>
    public void Build(IProgress<double>? progress)
    {
        var h = config.HiddenSize;
        var hd = config.HeadDim;
        var kvh = config.NumKeyValueHeads;

        onnx.Input(IoNames.InputIds, OnnxType.Int64, "batch", "seq");
        onnx.Input(IoNames.SeqLensK, OnnxType.Int32, "batch");
        onnx.Input(IoNames.TotalSequenceLength, OnnxType.Int32);
        onnx.Output(IoNames.Logits, OnnxType.Float, "batch", config.VocabSize);

        // Rotary tables [max_seq_len, head_dim/2]: angle(p, i) = p / theta^(2i/head_dim), computed in double.
        var cos = new float[(long)maxSeqLen * (hd / 2)];
        var sin = new float[cos.Length];
        for (var p = 0; p < maxSeqLen; p++)
        {
            for (var i = 0; i < hd / 2; i++)
            {
                var angle = p / Math.Pow(config.RopeTheta, 2.0 * i / hd);
                cos[(p * (hd / 2)) + i] = (float)Math.Cos(angle);
                sin[(p * (hd / 2)) + i] = (float)Math.Sin(angle);
            }
        }
        var cosCache = Tensor("cos_cache", cos, maxSeqLen, hd / 2);
        var sinCache = Tensor("sin_cache", sin, maxSeqLen, hd / 2);

        var embedName = "model.embed_tokens.weight";
        var embed = weights.Read(embedName, config.VocabSize, h);
        var embedTensor = Tensor(embedName, embed, config.VocabSize, h);
        var x = onnx.Node("Gather", [embedTensor, IoNames.InputIds], ["embeds"]); // [B,S,H]
        embed = null; // streamed: only one tensor is held at a time

        for (var l = 0; l < config.NumHiddenLayers; l++)
        {
            var p = $"model.layers.{l}.";
            onnx.Input(IoNames.PastKey(l), Act, "batch", kvh, "cache_len", hd);
            onnx.Input(IoNames.PastValue(l), Act, "batch", kvh, "cache_len", hd);
            onnx.Output(IoNames.PresentKey(l), Act, "batch", kvh, "cache_len", hd);
            onnx.Output(IoNames.PresentValue(l), Act, "batch", kvh, "cache_len", hd);

            var n1 = RmsNorm($"{p}input_layernorm.weight", x, $"l{l}.n1"); // [B,S,H]

            // q, k and v as one packed projection [B,S,(heads + 2*kv_heads)*head_dim]: one MatMul instead of three.
            var qOut = config.NumAttentionHeads * hd;
            var kvOut = kvh * hd;
            var wqkv = Concat(weights.Read($"{p}self_attn.q_proj.weight", qOut, h), weights.Read($"{p}self_attn.k_proj.weight", kvOut, h), weights.Read($"{p}self_attn.v_proj.weight", kvOut, h));
            var bqkv = Concat(weights.Read($"{p}self_attn.q_proj.bias", qOut), weights.Read($"{p}self_attn.k_proj.bias", kvOut), weights.Read($"{p}self_attn.v_proj.bias", kvOut));
            var qkv = Linear($"{p}self_attn.qkv_proj", n1, wqkv, qOut + (2 * kvOut), h, bqkv);

            var attn = onnx.Node(
                "GroupQueryAttention",
                [qkv, "", "", IoNames.PastKey(l), IoNames.PastValue(l), IoNames.SeqLensK, IoNames.TotalSequenceLength, cosCache, sinCache],
                [$"l{l}.attn", IoNames.PresentKey(l), IoNames.PresentValue(l)],
                "com.microsoft",
                ("num_heads", (long)config.NumAttentionHeads),
                ("kv_num_heads", (long)kvh),
                ("scale", (float)(1.0 / Math.Sqrt(hd))),
                ("do_rotary", 1L),
                ("rotary_interleaved", 0L)); // [B,S,heads*head_dim]
            var o = Linear($"{p}self_attn.o_proj", attn, weights.Read($"{p}self_attn.o_proj.weight", h, qOut), h, qOut, null);
            var resid = onnx.Node("Add", [x, o], [$"l{l}.resid"]); // [B,S,H]

            var n2 = RmsNorm($"{p}post_attention_layernorm.weight", resid, $"l{l}.n2");
            var inter = config.IntermediateSize;
            var gate = Linear($"{p}mlp.gate_proj", n2, weights.Read($"{p}mlp.gate_proj.weight", inter, h), inter, h, null);
            var up = Linear($"{p}mlp.up_proj", n2, weights.Read($"{p}mlp.up_proj.weight", inter, h), inter, h, null);
            var sig = onnx.Node("Sigmoid", [gate], [$"l{l}.sig"]);
            var silu = onnx.Node("Mul", [gate, sig], [$"l{l}.silu"]);
            var act = onnx.Node("Mul", [silu, up], [$"l{l}.act"]); // [B,S,I]
            var down = Linear($"{p}mlp.down_proj", act, weights.Read($"{p}mlp.down_proj.weight", h, inter), h, inter, null);
            x = onnx.Node("Add", [resid, down], [$"l{l}.out"]); // [B,S,H]
            progress?.Report((l + 1.0) / (config.NumHiddenLayers + 1));
            GC.Collect(); // hand the layer's large arrays back before the next layer allocates its own: bounds peak memory
        }

        // Only the last position of each row is projected to the vocabulary.
        var lastIndex = onnx.ScalarConstant("last_index", -1);
        var last = onnx.Node("Gather", [x, lastIndex], ["last_hidden"], "", ("axis", 1L)); // [B,H]
        var normed = RmsNorm("model.norm.weight", last, "final_norm");
        string logits; // [B,V]
        if (precision == Precision.Int4)
        {
            // int4 quantizes lm_head (the largest matmul of a decode step) but keeps the embedding table in fp32: a Gather
            // reads one row per token, so its size costs memory, not time.
            // A tied lm_head is read again from the checkpoint rather than held through the export: peak memory stays one tensor.
            logits = NBits("lm_head", normed, weights.Read(config.TieWordEmbeddings ? embedName : "lm_head.weight", config.VocabSize, h), config.VocabSize, h);
        }
        else
        {
            // Gemm with transB reads the [V,H] matrix as stored, so a tied lm_head is the embedding initializer itself.
            var lmHead = config.TieWordEmbeddings ? embedTensor : Tensor("lm_head.weight", weights.Read("lm_head.weight", config.VocabSize, h), config.VocabSize, h);
            logits = onnx.Node("Gemm", [normed, lmHead], ["lm_head_out"], "", ("transB", 1L));
        }
        if (precision == Precision.Fp16)
        {
            onnx.Node("Cast", [logits], [IoNames.Logits], "", ("to", (long)OnnxType.Float));
        }
        else
        {
            onnx.Node("Identity", [logits], [IoNames.Logits]);
        }
        progress?.Report(1.0);
    }

    private string RmsNorm(string weightName, string input, string output)
    {
        var w = weights.Read(weightName, config.HiddenSize);
        return onnx.Node("SimplifiedLayerNormalization", [input, Tensor(weightName, w, config.HiddenSize)], [output], "", ("axis", -1L), ("epsilon", (float)config.RmsNormEps));
    }

    /// <summary>y = x·Wᵀ (+ b) for a Hugging Face Linear weight W [outDim, inDim].</summary>
    private string Linear(string name, string input, float[] w, int outDim, int inDim, float[]? bias)
    {
        string y;
        if (precision == Precision.Int4)
        {
            y = NBits(name, input, w, outDim, inDim);
        }
        else
        {
            // MatMul wants [in, out]: transpose once at export.
            var wt = new float[w.Length];
            for (var o = 0; o < outDim; o++)
            {
                for (var i = 0; i < inDim; i++)
                {
                    wt[((long)i * outDim) + o] = w[((long)o * inDim) + i];
                }
            }
            y = onnx.Node("MatMul", [input, Tensor(name + ".weight_t", wt, inDim, outDim)], [name + ".mm"]);
        }
        return bias is null ? y : onnx.Node("Add", [y, Tensor(name + ".bias", bias, outDim)], [name + ".out"]);
    }

    /// <summary>
    /// Block-wise symmetric int4 (com.microsoft.MatMulNBits): per 32 weights along K one float scale = max|w|/7, values
    /// round(w/scale)+8 in [1, 15] (implicit zero point 8), two per byte, low nibble first. B is [N, K/32, 16] bytes.
    /// </summary>
    private string NBits(string name, string input, float[] w, int n, int k)
    {
        var blocks = (k + BlockSize - 1) / BlockSize;
        var packed = new byte[(long)n * blocks * (BlockSize / 2)];
        var scales = new float[(long)n * blocks];
        Span<int> q = stackalloc int[BlockSize];
        for (var row = 0; row < n; row++)
        {
            for (var b = 0; b < blocks; b++)
            {
                var start = (long)row * k + ((long)b * BlockSize);
                var len = Math.Min(BlockSize, k - (b * BlockSize));
                var max = 0f;
                for (var j = 0; j < len; j++)
                {
                    max = Math.Max(max, Math.Abs(w[start + j]));
                }
                var scale = max / 7f;
                var inv = scale == 0 ? 0 : 1f / scale;
                q.Fill(8);
                for (var j = 0; j < len; j++)
                {
                    q[j] = Math.Clamp((int)MathF.Round(w[start + j] * inv) + 8, 0, 15);
                }
                var dst = ((long)row * blocks + b) * (BlockSize / 2);
                for (var j = 0; j < BlockSize / 2; j++)
                {
                    packed[dst + j] = (byte)(q[2 * j] | (q[(2 * j) + 1] << 4));
                }
                scales[((long)row * blocks) + b] = scale;
            }
        }
        var bName = onnx.Initializer(name + ".qweight", OnnxType.UInt8, [n, blocks, BlockSize / 2], packed);
        var sName = Tensor(name + ".scales", scales, (long)n * blocks);
        return onnx.Node(
            "MatMulNBits",
            [input, bName, sName],
            [name + ".mm"],
            "com.microsoft",
            ("K", (long)k),
            ("N", (long)n),
            ("bits", 4L),
            ("block_size", (long)BlockSize),
            ("accuracy_level", (long)AccuracyLevel));
    }

    /// <summary>Writes a float tensor in the activation precision (float32, or float16 for the fp16 model).</summary>
    private string Tensor(string name, float[] data, params long[] dims)
    {
        if (Act == OnnxType.Float)
        {
            return onnx.Initializer(name, OnnxType.Float, dims, MemoryMarshal.AsBytes(data.AsSpan()));
        }
        var half = new Half[data.Length];
        for (var i = 0; i < data.Length; i++)
        {
            half[i] = (Half)data[i];
        }
        return onnx.Initializer(name, OnnxType.Float16, dims, MemoryMarshal.AsBytes(half.AsSpan()));
    }

    private static float[] Concat(params float[][] parts)
    {
        var result = new float[parts.Sum(p => (long)p.Length)];
        long offset = 0;
        foreach (var p in parts)
        {
            Array.Copy(p, 0, result, offset, p.Length);
            offset += p.Length;
        }
        return result;
    }
}
