using System.Runtime.InteropServices;
using Qwen.OnnxExport.Checkpoint;
using Qwen.OnnxExport.Onnx;

namespace Qwen.OnnxExport.Graph;

/// <summary>
/// The whole Qwen2 decoder as one ONNX graph, built for serving:
/// <code>
/// input_ids [B,S] ─Gather(embed)─▶ x [B,S,H]
///   per layer:  (x, down) ─SkipRMSNorm─▶ x += down, n1 ─▶ QKV MatMul(+bias) ─▶ GroupQueryAttention(rotary fused;
///               past == present buffer) ─▶ o_proj ─▶ (x, o) ─SkipRMSNorm─▶ x += o, n2 ─▶ gate|up MatMul ─Split─▶
///               silu(gate)·up ─▶ down MatMul      (layer 0's first norm is a plain RMSNorm: nothing to add yet)
/// (x, down) ─SkipRMSNorm─▶ [:, -1, :] [B,H] ─▶ lm_head ─▶ logits [B,V]   (only the last position of each row is projected)
/// </code>
/// SkipRMSNorm is com.microsoft.SkipSimplifiedLayerNormalization: the residual Add and the norm that reads it in one
/// node, which also returns the sum; gate|up is one MatMul for fp32 and fp16 (<see cref="GraphSettings.FusedGateUp"/>).
/// The KV cache is the graph's past/present pair per layer, [B, kv_heads, cache_len, head_dim]; the engine binds the
/// same buffer to both so GroupQueryAttention writes the new positions in place. Positions come from seqlens_k.
/// Weights stream in row chunks of <see cref="GraphSettings.ChunkBytes"/> (read → convert → transpose or quantize →
/// write into the tensor's reserved range), so no tensor is ever held whole. With no checkpoint
/// (<paramref name="weights"/> null) and a plan-only builder, it computes every tensor's shape and size and reads nothing.
/// </summary>
internal sealed class QwenGraph(QwenConfig config, SafeTensorsReader? weights, OnnxModelBuilder onnx, GraphSettings settings)
{
    // Chunk buffers, reused across tensors: each is at most one chunk.
    private float[] _rows = [];
    private float[] _block = [];
    private Half[] _half = [];
    private byte[] _packed = [];

    private Precision Precision => settings.Precision;

    private int BlockSize => settings.Int4BlockSize; // MatMulNBits block along K

    private OnnxType Act => settings.HalfActivations ? OnnxType.Float16 : OnnxType.Float;

    private int ActSize => Act == OnnxType.Float ? 4 : 2;

    /// <summary>Emits every node and streams every weight (or, plan-only, declares them).</summary>
    public void Build()
    {
        var h = config.HiddenSize;
        var hd = config.HeadDim;
        var kvh = config.NumKeyValueHeads;
        var maxSeqLen = settings.MaxSeqLen;

        onnx.Input(IoNames.InputIds, OnnxType.Int64, "batch", "seq");
        onnx.Input(IoNames.SeqLensK, OnnxType.Int32, "batch");
        onnx.Input(IoNames.TotalSequenceLength, OnnxType.Int32);
        onnx.Output(IoNames.Logits, OnnxType.Float, "batch", config.VocabSize);

        // Rotary tables [max_seq_len, head_dim/2]: angle(p, i) = p / theta^(2i/head_dim), computed in double. With YaRN
        // the angle is p times the scaled inverse frequency (divided here by its reciprocal, so plain RoPE's tables keep
        // their bytes), and cos and sin are both multiplied by the attention factor, as Transformers does:
        // GroupQueryAttention rotates q and k with them, so q·k carries the factor squared.
        var yarn = config.RopeScaling;
        var denominators = yarn is null
            ? Enumerable.Range(0, hd / 2).Select(i => Math.Pow(config.RopeTheta, 2.0 * i / hd)).ToArray()
            : yarn.InverseFrequencies(hd, config.RopeTheta).Select(f => 1 / f).ToArray();
        var magnitude = yarn?.AttentionFactor ?? 1;
        float[] Rotary(Func<double, double> f)
        {
            var table = new float[(long)maxSeqLen * (hd / 2)];
            for (var p = 0; p < maxSeqLen; p++)
            {
                for (var i = 0; i < hd / 2; i++)
                {
                    table[((long)p * (hd / 2)) + i] = (float)(magnitude * f(p / denominators[i]));
                }
            }
            return table;
        }
        var cosCache = Computed("cos_cache", () => Rotary(Math.Cos), maxSeqLen, hd / 2);
        var sinCache = Computed("sin_cache", () => Rotary(Math.Sin), maxSeqLen, hd / 2);

        var embedName = "model.embed_tokens.weight";
        var embedTensor = Plain(embedName, Matrix(h, (embedName, config.VocabSize)), config.VocabSize, h);
        var x = onnx.Node("Gather", [embedTensor, IoNames.InputIds], ["embeds"]); // [B,S,H]

        // Each residual Add is fused with the norm that reads its sum (SkipSimplifiedLayerNormalization, which also
        // returns the sum for the next residual): ORT 1.31.1's own SkipLayerNormFusion left all 48 pairs unfused here.
        // `pending` is the branch not yet added to the residual stream x: null before the first layer.
        string? pending = null;
        for (var l = 0; l < config.NumHiddenLayers; l++)
        {
            var p = $"model.layers.{l}.";
            onnx.Input(IoNames.PastKey(l), Act, "batch", kvh, "cache_len", hd);
            onnx.Input(IoNames.PastValue(l), Act, "batch", kvh, "cache_len", hd);
            onnx.Output(IoNames.PresentKey(l), Act, "batch", kvh, "cache_len", hd);
            onnx.Output(IoNames.PresentValue(l), Act, "batch", kvh, "cache_len", hd);

            string n1; // [B,S,H]
            if (pending is null)
            {
                n1 = RmsNorm($"{p}input_layernorm.weight", x, $"l{l}.n1");
            }
            else
            {
                (n1, x) = SkipRmsNorm($"{p}input_layernorm.weight", x, pending, $"l{l}.n1", $"l{l}.in");
            }

            // q, k and v as one packed projection [B,S,(heads + 2*kv_heads)*head_dim]: one MatMul instead of three.
            var qOut = config.NumAttentionHeads * hd;
            var kvOut = kvh * hd;
            var wqkv = Matrix(h, ($"{p}self_attn.q_proj.weight", qOut), ($"{p}self_attn.k_proj.weight", kvOut), ($"{p}self_attn.v_proj.weight", kvOut));
            var qkv = Linear($"{p}self_attn.qkv_proj", n1, wqkv, ($"{p}self_attn.q_proj.bias", qOut), ($"{p}self_attn.k_proj.bias", kvOut), ($"{p}self_attn.v_proj.bias", kvOut));

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
            var o = Linear($"{p}self_attn.o_proj", attn, Matrix(qOut, ($"{p}self_attn.o_proj.weight", h)));

            // n2 = RMSNorm(x + o), x = x + o
            var (n2, resid) = SkipRmsNorm($"{p}post_attention_layernorm.weight", x, o, $"l{l}.n2", $"l{l}.resid"); // [B,S,H]
            x = resid;
            var act = Mlp(p, n2, $"l{l}"); // [B,S,I]
            var inter = config.IntermediateSize;
            pending = Linear($"{p}mlp.down_proj", act, Matrix(inter, ($"{p}mlp.down_proj.weight", h))); // [B,S,H]
        }

        // The last residual Add is fused with the final norm too; it normalizes every position (a prompt's S rows of H
        // values: nothing next to its matmuls) and then only the last position of each row goes on to the vocabulary.
        var normedAll = SkipRmsNorm("model.norm.weight", x, pending!, "final_norm_all", "").Normed; // [B,S,H]
        var lastIndex = onnx.ScalarConstant("last_index", -1);
        var normed = onnx.Node("Gather", [normedAll, lastIndex], ["final_norm"], "", ("axis", 1L)); // [B,H]
        var lmHeadRows = Matrix(h, (config.TieWordEmbeddings ? embedName : "lm_head.weight", config.VocabSize));
        string logits; // [B,V]
        if (Precision == Precision.Int4 && settings.Int4LmHead)
        {
            // int4 quantizes lm_head (the largest matmul of a decode step) but keeps the embedding table in fp32: a Gather
            // reads one row per token, so its size costs memory, not time. A tied lm_head is read again from the checkpoint.
            logits = NBits("lm_head", normed, lmHeadRows);
        }
        else
        {
            // Gemm with transB reads the [V,H] matrix as stored, so a tied lm_head is the embedding initializer itself.
            var lmHead = config.TieWordEmbeddings ? embedTensor : Plain("lm_head.weight", lmHeadRows, config.VocabSize, h);
            logits = onnx.Node("Gemm", [normed, lmHead], ["lm_head_out"], "", ("transB", 1L));
        }
        if (Act == OnnxType.Float16)
        {
            onnx.Node("Cast", [logits], [IoNames.Logits], "", ("to", (long)OnnxType.Float));
        }
        else
        {
            onnx.Node("Identity", [logits], [IoNames.Logits]);
        }
    }

    private string RmsNorm(string weightName, string input, string output)
    {
        var w = Vector(weightName, (weightName, config.HiddenSize));
        return onnx.Node("SimplifiedLayerNormalization", [input, w], [output], "", ("axis", -1L), ("epsilon", (float)config.RmsNormEps));
    }

    /// <summary>
    /// RMSNorm(x + branch) and the sum x + branch in one node (com.microsoft.SkipSimplifiedLayerNormalization: output 0
    /// the normed sum, output 3 the sum itself, named <paramref name="sumOutput"/>; empty: the sum is not needed).
    /// </summary>
    private (string Normed, string Sum) SkipRmsNorm(string weightName, string x, string branch, string output, string sumOutput)
    {
        var w = Vector(weightName, (weightName, config.HiddenSize));
        string[] outputs = sumOutput.Length == 0 ? [output] : [output, "", "", sumOutput];
        onnx.Node("SkipSimplifiedLayerNormalization", [x, branch, w], outputs, "com.microsoft", ("epsilon", (float)config.RmsNormEps));
        return (output, sumOutput);
    }

    /// <summary>
    /// SwiGLU, down_proj excluded: silu(n·gateᵀ) · (n·upᵀ) [B,S,I]. With <see cref="GraphSettings.FusedGateUp"/> gate and up
    /// are one MatMul over [H, 2I] (one weight read, one op) whose output is split in two halves:
    /// <code>
    /// n ─MatMul [H,2I]─▶ [B,S,2I] ─Split─▶ gate, up ─▶ gate·sigmoid(gate)·up
    /// </code>
    /// </summary>
    private string Mlp(string p, string n, string name)
    {
        var h = config.HiddenSize;
        var inter = config.IntermediateSize;
        string gate, up; // [B,S,I]
        if (settings.FusedGateUp)
        {
            var gateUp = Linear($"{p}mlp.gate_up_proj", n, Matrix(h, ($"{p}mlp.gate_proj.weight", inter), ($"{p}mlp.up_proj.weight", inter))); // [B,S,2I]
            (gate, up) = (onnx.Node("Split", [gateUp], [$"{name}.gate", $"{name}.up"], "", ("axis", -1L)), $"{name}.up");
        }
        else
        {
            gate = Linear($"{p}mlp.gate_proj", n, Matrix(h, ($"{p}mlp.gate_proj.weight", inter)));
            up = Linear($"{p}mlp.up_proj", n, Matrix(h, ($"{p}mlp.up_proj.weight", inter)));
        }
        var sig = onnx.Node("Sigmoid", [gate], [$"{name}.sig"]);
        var silu = onnx.Node("Mul", [gate, sig], [$"{name}.silu"]);
        return onnx.Node("Mul", [silu, up], [$"{name}.act"]);
    }

    /// <summary>y = x·Wᵀ (+ b) for a Hugging Face Linear weight W [outDim, inDim] (the rows of <paramref name="w"/>); the bias is the concatenation of <paramref name="bias"/>.</summary>
    private string Linear(string name, string input, Rows w, params (string Name, long Length)[] bias)
    {
        var y = Precision == Precision.Int4 ? NBits(name, input, w) : onnx.Node("MatMul", [input, Transposed(name + ".weight_t", w)], [name + ".mm"]);
        return bias.Length == 0 ? y : onnx.Node("Add", [y, Vector(name + ".bias", bias)], [name + ".out"]);
    }

    /// <summary>The rows of checkpoint matrices stacked along dim 0, each checked to be [rows, <paramref name="rowLength"/>].</summary>
    private Rows Matrix(int rowLength, params (string Name, long Rows)[] parts)
    {
        foreach (var (name, rows) in parts)
        {
            weights?.Check(name, rows, rowLength);
        }
        return new Rows(rowLength, parts);
    }

    /// <summary>Checkpoint vectors concatenated into one initializer [sum of lengths] (norm weights, the packed q/k/v bias).</summary>
    private string Vector(string initializer, params (string Name, long Length)[] parts)
    {
        foreach (var (name, length) in parts)
        {
            weights?.Check(name, length);
        }
        return Computed(initializer, () => parts.SelectMany(p => weights!.ReadAll(p.Name, p.Length)).ToArray(), parts.Sum(p => p.Length));
    }

    /// <summary>A small initializer of computed values, in the activation precision; <paramref name="values"/> runs only when data is written.</summary>
    private string Computed(string name, Func<float[]> values, params long[] dims)
        => onnx.Initializer(name, Act, dims, w => w.Write(0, ToAct(values())));

    /// <summary>Rows written as stored, in the activation precision: [rows, rowLength].</summary>
    private string Plain(string name, Rows source, params long[] dims)
        => onnx.Initializer(name, Act, dims, w => ForEachChunk(source, (first, count, rows) => w.Write(first * source.RowLength * ActSize, ToAct(rows))));

    /// <summary>
    /// A Linear weight [out, in] written transposed, [in, out], for MatMul: each chunk of source rows o0..o0+n is
    /// transposed to a block [in, n] whose row i lands at element i·out + o0 (one contiguous write when n = out).
    /// </summary>
    private string Transposed(string name, Rows source)
    {
        var inDim = source.RowLength;
        var outDim = source.TotalRows;
        return onnx.Initializer(name, Act, [inDim, outDim], w => ForEachChunk(source, (o0, n, rows) =>
        {
            var block = Buffer(ref _block, (long)n * inDim);
            for (var o = 0; o < n; o++)
            {
                for (var i = 0; i < inDim; i++)
                {
                    block[(i * n) + o] = rows[(o * inDim) + i];
                }
            }
            var bytes = ToAct(block);
            if (n == outDim)
            {
                w.Write(0, bytes);
                return;
            }
            var segment = n * ActSize;
            for (var i = 0; i < inDim; i++)
            {
                w.Write((((long)i * outDim) + o0) * ActSize, bytes.Slice(i * segment, segment));
            }
        }));
    }

    /// <summary>
    /// Block-wise symmetric int4 (com.microsoft.MatMulNBits): per 32 weights along K one scale = max|w|/7, values
    /// round(w/scale)+8 in [1, 15] (implicit zero point 8), two per byte, low nibble first. B is [N, K/32, 16] bytes;
    /// rows are independent, so each chunk of rows is quantized and written on its own. The scales ([N·K/32], in the
    /// activation type as the op requires, 1/32 of the fp32 weight) are collected and written after B. For the CPU,
    /// accuracy level 4 (int8 activations inside: 2-5x faster than level 0 there, shared notes §3); for CUDA, level 0,
    /// as onnxruntime-genai's builder writes it (the CUDA kernel computes in the activation type).
    /// </summary>
    private string NBits(string name, string input, Rows source)
    {
        var n = source.TotalRows;
        var k = source.RowLength;
        var blocks = (k + BlockSize - 1) / BlockSize;
        float[]? scales = null;
        var bName = onnx.Initializer(name + ".qweight", OnnxType.UInt8, [n, blocks, BlockSize / 2], w =>
        {
            scales = new float[(long)n * blocks];
            ForEachChunk(source, (firstRow, count, rows) =>
            {
                var packed = Buffer(ref _packed, (long)count * blocks * (BlockSize / 2));
                Span<int> q = stackalloc int[BlockSize];
                for (var row = 0; row < count; row++)
                {
                    for (var b = 0; b < blocks; b++)
                    {
                        var start = (row * k) + (b * BlockSize);
                        var len = Math.Min(BlockSize, k - (b * BlockSize));
                        var max = 0f;
                        for (var j = 0; j < len; j++)
                        {
                            max = Math.Max(max, Math.Abs(rows[start + j]));
                        }
                        // In float16 the scale is rounded before it divides, so the values are rounded against the scale the op reads.
                        var scale = Act == OnnxType.Float16 ? (float)(Half)(max / 7f) : max / 7f;
                        var inv = scale == 0 ? 0 : 1f / scale;
                        q.Fill(8);
                        for (var j = 0; j < len; j++)
                        {
                            q[j] = Math.Clamp((int)MathF.Round(rows[start + j] * inv) + 8, 0, 15);
                        }
                        var dst = ((row * blocks) + b) * (BlockSize / 2);
                        for (var j = 0; j < BlockSize / 2; j++)
                        {
                            packed[dst + j] = (byte)(q[2 * j] | (q[(2 * j) + 1] << 4));
                        }
                        scales[((firstRow + row) * blocks) + b] = scale;
                    }
                }
                w.Write(firstRow * blocks * (BlockSize / 2), packed);
            });
        });
        var sName = onnx.Initializer(name + ".scales", Act, [n * blocks], w => w.Write(0, ToAct(scales)));
        return onnx.Node(
            "MatMulNBits",
            [input, bName, sName],
            [name + ".mm"],
            "com.microsoft",
            ("K", (long)k),
            ("N", n),
            ("bits", 4L),
            ("block_size", (long)BlockSize),
            ("accuracy_level", settings.Target == Target.Cpu ? 4L : 0L));
    }

    /// <summary>Reads <paramref name="source"/> in chunks of whole rows (at least one) and hands each to <paramref name="body"/>(first row, row count, values).</summary>
    private void ForEachChunk(Rows source, ChunkBody body)
    {
        var perChunk = (int)Math.Clamp(settings.ChunkBytes / (4L * source.RowLength), 1, source.TotalRows);
        for (long first = 0; first < source.TotalRows; first += perChunk)
        {
            var count = (int)Math.Min(perChunk, source.TotalRows - first);
            var rows = Buffer(ref _rows, (long)count * source.RowLength);
            ReadRows(source, first, count, rows);
            body(first, count, rows);
        }
    }

    /// <summary>Rows [first, first + count) of the stacked parts, crossing from one checkpoint tensor into the next.</summary>
    private void ReadRows(Rows source, long first, int count, Span<float> destination)
    {
        long partStart = 0;
        foreach (var (name, rows) in source.Parts)
        {
            var from = Math.Max(first, partStart);
            var to = Math.Min(first + count, partStart + rows);
            if (from < to)
            {
                var n = (int)(to - from);
                weights!.ReadRows(name, from - partStart, n, destination.Slice((int)(from - first) * source.RowLength, n * source.RowLength));
            }
            partStart += rows;
        }
    }

    /// <summary>The values in the activation precision, as bytes (a view of a reused buffer, valid until the next call).</summary>
    private ReadOnlySpan<byte> ToAct(ReadOnlySpan<float> values)
    {
        if (Act == OnnxType.Float)
        {
            return MemoryMarshal.AsBytes(values);
        }
        var half = Buffer(ref _half, values.Length);
        for (var i = 0; i < values.Length; i++)
        {
            half[i] = (Half)values[i];
        }
        return MemoryMarshal.AsBytes(half);
    }

    /// <summary>The first <paramref name="length"/> elements of a reused buffer, grown when too small.</summary>
    private static Span<T> Buffer<T>(ref T[] buffer, long length)
    {
        if (buffer.Length < length)
        {
            buffer = new T[length];
        }
        return buffer.AsSpan(0, (int)length);
    }

    private delegate void ChunkBody(long firstRow, int rowCount, Span<float> rows);

    /// <summary>Checkpoint matrices stacked along dim 0: rows of <paramref name="RowLength"/> values.</summary>
    private sealed record Rows(int RowLength, (string Name, long Rows)[] Parts)
    {
        /// <summary>Rows of all parts together.</summary>
        public long TotalRows => Parts.Sum(p => p.Rows);
    }
}
