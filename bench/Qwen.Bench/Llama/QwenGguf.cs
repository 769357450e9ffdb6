using System.Runtime.InteropServices;
using System.Text.Json;
using Qwen.OnnxExport;
using Qwen.OnnxExport.Checkpoint;

namespace Qwen.Bench.Llama;

/// <summary>
/// Writes a Hugging Face Qwen2 checkpoint (config.json, model.safetensors, vocab.json, merges.txt, tokenizer_config.json:
/// what <see cref="RandomCheckpoint"/> writes) as a GGUF file for llama.cpp's <c>qwen2</c> architecture, with the
/// metadata keys and tensor names llama.cpp's convert_hf_to_gguf.py gives it.
/// <para>
/// Precision: <see cref="GgufPrecision.F32"/> holds the checkpoint's values exactly. <see cref="GgufPrecision.Q4_0"/>
/// quantizes what our int4 export quantizes: the seven matrices of every layer and lm_head. With tied embeddings our
/// export quantizes a copy of the embedding for lm_head and keeps the table it gathers rows from in float32; llama.cpp
/// reads an <c>output.weight</c> when the file has one (it duplicates token_embd only when it is absent), so the q4_0
/// file has token_embd in float32 plus a q4_0 output.weight, the same layout. What differs is the quantizer: ours
/// scales each block by max|w|/7 and rounds to codes 1–15 (MatMulNBits, float32 scale); q4_0 scales by the signed
/// extreme / -8 with a float16 scale and truncates w/d + 8.5 (<see cref="Q4_0"/>), so the two int4 models are close
/// but not equal, and their greedy tokens may differ. Rows whose length is not a multiple of 32 stay float32 (no
/// Qwen2.5 shape has one).
/// </para>
/// </summary>
internal static class QwenGguf
{
    /// <summary>Bumped whenever the files written change, so cached files are rebuilt.</summary>
    public const int Version = 1;

    // llama.cpp's llama_token_type (tokenizer.ggml.token_type), as convert_hf_to_gguf.py assigns them.
    private const int Normal = 1;
    private const int Control = 3;
    private const int UserDefined = 4;
    private const int Unused = 5;

    // ggml's llama_ftype for general.file_type.
    private const uint AllF32 = 0;
    private const uint MostlyQ4_0 = 2;

    /// <summary>Writes the GGUF of <paramref name="checkpoint"/> to <paramref name="path"/> through a temporary file, so a reader never sees half a file.</summary>
    public static void Write(string checkpoint, GgufPrecision precision, string name, string path)
    {
        var config = QwenConfig.Load(Path.Combine(checkpoint, "config.json"));
        var temp = $"{path}.tmp-{Environment.ProcessId}";
        try
        {
            using (var weights = new SafeTensorsReader(checkpoint, config.TorchDtype))
            {
                Create(checkpoint, config, weights, precision, name).Write(temp);
            }
            File.Move(temp, path, overwrite: true);
        }
        finally
        {
            File.Delete(temp);
        }
    }

    /// <summary>The metadata and tensors; the tensors read <paramref name="reader"/> when the file is written.</summary>
    private static GgufWriter Create(string checkpoint, QwenConfig config, SafeTensorsReader reader, GgufPrecision precision, string name)
    {
        var w = new GgufWriter();
        w.String("general.architecture", "qwen2");
        w.String("general.name", name);
        w.UInt32("general.file_type", precision == GgufPrecision.F32 ? AllF32 : MostlyQ4_0);
        if (precision == GgufPrecision.Q4_0)
        {
            w.UInt32("general.quantization_version", 2);
        }
        w.UInt32("qwen2.context_length", (uint)config.MaxPositionEmbeddings);
        w.UInt32("qwen2.embedding_length", (uint)config.HiddenSize);
        w.UInt32("qwen2.block_count", (uint)config.NumHiddenLayers);
        w.UInt32("qwen2.feed_forward_length", (uint)config.IntermediateSize);
        w.UInt32("qwen2.attention.head_count", (uint)config.NumAttentionHeads);
        w.UInt32("qwen2.attention.head_count_kv", (uint)config.NumKeyValueHeads);
        w.Float32("qwen2.rope.freq_base", (float)config.RopeTheta);
        w.Float32("qwen2.attention.layer_norm_rms_epsilon", (float)config.RmsNormEps);
        AddTokenizer(w, checkpoint, config);

        int h = config.HiddenSize, inter = config.IntermediateSize, hd = config.HeadDim;
        int q = config.NumAttentionHeads * hd, kv = config.NumKeyValueHeads * hd;
        var quantize = precision == GgufPrecision.Q4_0;
        Add(w, reader, "token_embd.weight", "model.embed_tokens.weight", [config.VocabSize, h], quantize: false);
        for (var l = 0; l < config.NumHiddenLayers; l++)
        {
            var (src, dst) = ($"model.layers.{l}.", $"blk.{l}.");
            Add(w, reader, dst + "attn_norm.weight", src + "input_layernorm.weight", [h], false);
            Add(w, reader, dst + "attn_q.weight", src + "self_attn.q_proj.weight", [q, h], quantize);
            Add(w, reader, dst + "attn_q.bias", src + "self_attn.q_proj.bias", [q], false);
            Add(w, reader, dst + "attn_k.weight", src + "self_attn.k_proj.weight", [kv, h], quantize);
            Add(w, reader, dst + "attn_k.bias", src + "self_attn.k_proj.bias", [kv], false);
            Add(w, reader, dst + "attn_v.weight", src + "self_attn.v_proj.weight", [kv, h], quantize);
            Add(w, reader, dst + "attn_v.bias", src + "self_attn.v_proj.bias", [kv], false);
            Add(w, reader, dst + "attn_output.weight", src + "self_attn.o_proj.weight", [h, q], quantize);
            Add(w, reader, dst + "ffn_norm.weight", src + "post_attention_layernorm.weight", [h], false);
            Add(w, reader, dst + "ffn_gate.weight", src + "mlp.gate_proj.weight", [inter, h], quantize);
            Add(w, reader, dst + "ffn_up.weight", src + "mlp.up_proj.weight", [inter, h], quantize);
            Add(w, reader, dst + "ffn_down.weight", src + "mlp.down_proj.weight", [h, inter], quantize);
        }
        Add(w, reader, "output_norm.weight", "model.norm.weight", [h], false);
        if (!config.TieWordEmbeddings)
        {
            Add(w, reader, "output.weight", "lm_head.weight", [config.VocabSize, h], quantize);
        }
        else if (quantize)
        {
            Add(w, reader, "output.weight", "model.embed_tokens.weight", [config.VocabSize, h], quantize: true);
        }
        return w;
    }

    /// <summary>
    /// The GGUF of a random preset's checkpoint (the source/ folder of its export), cached in
    /// <paramref name="cacheRoot"/> by preset, precision, seed and <see cref="Version"/>.
    /// </summary>
    public static string GetOrCreate(string preset, GgufPrecision precision, int seed, string cacheRoot)
    {
        var path = Path.Combine(cacheRoot, $"{preset}-{precision.ToString().ToLowerInvariant()}-seed{seed}-v{RandomModelCache.CacheVersion}.{Version}.gguf");
        if (!File.Exists(path))
        {
            Directory.CreateDirectory(cacheRoot);
            var model = RandomModelCache.GetOrCreate(preset, "fp32", seed);
            Write(Path.Combine(model, "source"), precision, $"{preset} random seed {seed}", path);
        }
        return path;
    }

    /// <summary>
    /// The byte-level BPE vocabulary as convert_hf_to_gguf.py's gpt2 path writes it: one entry per id up to config's
    /// vocab_size (ids the tokenizer lacks become "[PAD{id}]", unused), added tokens marked control when special and
    /// user-defined otherwise, merges as "a b" lines; pre-tokenizer "qwen2"; bos and padding &lt;|endoftext|&gt;, eos
    /// config's eos_token_id, no BOS added.
    /// </summary>
    private static void AddTokenizer(GgufWriter w, string checkpoint, QwenConfig config)
    {
        var tokens = new string?[config.VocabSize];
        var types = new int[config.VocabSize];
        using (var vocab = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(checkpoint, "vocab.json"))))
        {
            foreach (var p in vocab.RootElement.EnumerateObject())
            {
                var id = p.Value.GetInt32();
                (tokens[id], types[id]) = (p.Name, Normal);
            }
        }
        using (var tc = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(checkpoint, "tokenizer_config.json"))))
        {
            if (tc.RootElement.TryGetProperty("added_tokens_decoder", out var added))
            {
                foreach (var p in added.EnumerateObject())
                {
                    var id = int.Parse(p.Name, System.Globalization.CultureInfo.InvariantCulture);
                    var special = p.Value.TryGetProperty("special", out var s) && s.GetBoolean();
                    (tokens[id], types[id]) = (p.Value.GetProperty("content").GetString()!, special ? Control : UserDefined);
                }
            }
        }
        for (var id = 0; id < tokens.Length; id++)
        {
            if (tokens[id] is null)
            {
                (tokens[id], types[id]) = ($"[PAD{id}]", Unused);
            }
        }
        var merges = File.ReadLines(Path.Combine(checkpoint, "merges.txt")).Where(l => l.Length > 0 && !l.StartsWith("#version", StringComparison.Ordinal)).ToList();
        var endOfText = Array.IndexOf(tokens, "<|endoftext|>");
        using var configJson = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(checkpoint, "config.json")));
        var eos = configJson.RootElement.TryGetProperty("eos_token_id", out var e) && e.ValueKind == JsonValueKind.Number ? e.GetInt32() : endOfText;
        w.String("tokenizer.ggml.model", "gpt2");
        w.String("tokenizer.ggml.pre", "qwen2");
        w.Strings("tokenizer.ggml.tokens", tokens!);
        w.Int32s("tokenizer.ggml.token_type", types);
        w.Strings("tokenizer.ggml.merges", merges);
        w.UInt32("tokenizer.ggml.eos_token_id", (uint)eos);
        w.UInt32("tokenizer.ggml.padding_token_id", (uint)endOfText);
        w.UInt32("tokenizer.ggml.bos_token_id", (uint)endOfText);
        w.Bool("tokenizer.ggml.add_bos_token", false);
    }

    /// <summary>
    /// Adds checkpoint tensor <paramref name="source"/> (Hugging Face shape <paramref name="shape"/>, checked) as
    /// <paramref name="name"/>: dimensions reversed to ggml's order, rows streamed in chunks of about 16 MB.
    /// </summary>
    private static void Add(GgufWriter w, SafeTensorsReader reader, string name, string source, long[] shape, bool quantize)
    {
        reader.Check(source, shape);
        var rows = shape.Length == 1 ? 1 : shape[0];
        var rowLength = (int)shape[^1];
        var q = quantize && rowLength % Q4_0.BlockSize == 0;
        var type = q ? GgmlType.Q4_0 : GgmlType.F32;
        var rowBytes = q ? Q4_0.ByteLength(rowLength) : rowLength * 4L;
        w.Tensor(new GgufTensor(name, [.. shape.Reverse()], type, rows * rowBytes, stream =>
        {
            var perChunk = (int)Math.Clamp((16L << 20) / (rowLength * 4L), 1, rows);
            var values = new float[perChunk * rowLength];
            var packed = q ? new byte[perChunk * rowBytes] : [];
            for (long first = 0; first < rows; first += perChunk)
            {
                var count = (int)Math.Min(perChunk, rows - first);
                var chunk = values.AsSpan(0, count * rowLength);
                reader.ReadRows(source, first, count, chunk);
                if (!q)
                {
                    stream.Write(MemoryMarshal.AsBytes(chunk));
                    continue;
                }
                var output = packed.AsSpan(0, (int)(count * rowBytes));
                Q4_0.Quantize(chunk, output); // rows are whole blocks, so a chunk of rows is a run of blocks
                stream.Write(output);
            }
        }));
    }
}
