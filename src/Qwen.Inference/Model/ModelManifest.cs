using System.Text.Json;
using System.Text.Json.Serialization;

namespace Qwen.Inference.Model;

/// <summary>The exporter's manifest.json: everything needed to drive the graph (the only contract with onnx-export).</summary>
public sealed record ModelManifest
{
    /// <summary>Manifest format version.</summary>
    [JsonPropertyName("format_version")] public int FormatVersion { get; init; }

    /// <summary>fp32, fp16 or int4.</summary>
    [JsonPropertyName("precision")] public string Precision { get; init; } = "fp32";

    /// <summary>
    /// The execution provider the graph is laid out for, cpu or cuda. Manifests written before the field existed are read
    /// by their KV cache type: float16 graphs were the fp16 export, for CUDA; float32 ones were for the CPU.
    /// </summary>
    [JsonPropertyName("target")] public string? Target { get; init; }

    /// <summary>The graph file, relative to the model directory.</summary>
    [JsonPropertyName("onnx_file")] public string OnnxFile { get; init; } = "model.onnx";

    /// <summary>Decoder layers (one KV pair each).</summary>
    [JsonPropertyName("num_hidden_layers")] public int NumLayers { get; init; }

    /// <summary>Query heads; 0 in manifests that do not say (then <see cref="AttentionCostPerKey"/> is unknown).</summary>
    [JsonPropertyName("num_attention_heads")] public int NumHeads { get; init; }

    /// <summary>Width of the residual stream; 0 when not stated.</summary>
    [JsonPropertyName("hidden_size")] public int HiddenSize { get; init; }

    /// <summary>Width of the MLP; 0 when not stated.</summary>
    [JsonPropertyName("intermediate_size")] public int IntermediateSize { get; init; }

    /// <summary>Key/value heads.</summary>
    [JsonPropertyName("num_key_value_heads")] public int NumKvHeads { get; init; }

    /// <summary>Size of one head.</summary>
    [JsonPropertyName("head_dim")] public int HeadDim { get; init; }

    /// <summary>Vocabulary size (length of a logits row).</summary>
    [JsonPropertyName("vocab_size")] public int VocabSize { get; init; }

    /// <summary>Longest sequence the graph supports.</summary>
    [JsonPropertyName("max_seq_len")] public int MaxSeqLen { get; init; }

    /// <summary>How the rotary tables stretch the trained positions (onnx-export's record of a yarn rope_scaling); null for plain RoPE.</summary>
    [JsonPropertyName("rope_scaling")] public RopeScaling? RopeScaling { get; init; }

    /// <summary>float32 or float16.</summary>
    [JsonPropertyName("kv_cache_dtype")] public string KvCacheDtype { get; init; } = "float32";

    /// <summary>Input names.</summary>
    [JsonPropertyName("inputs")] public Dictionary<string, string> Inputs { get; init; } = [];

    /// <summary>Output names.</summary>
    [JsonPropertyName("outputs")] public Dictionary<string, string> Outputs { get; init; } = [];

    /// <summary>The candidates graph; null in manifests written before it existed (the engine then samples full rows).</summary>
    [JsonPropertyName("candidates")] public CandidatesManifest? Candidates { get; init; }

    /// <summary>Source checkpoint facts (sha256, random preset).</summary>
    [JsonPropertyName("source")] public JsonElement Source { get; init; }

    /// <summary>
    /// Flops of one attention (query, key) pair over those of one token through the linear layers, from the shapes; 0 when
    /// the manifest lacks them. Per layer a token costs 2 flops per weight of q, k, v, o and the MLP's three matrices, and a
    /// pair costs q·k and the weighted v, 4 flops per query-head dimension: the layer count cancels. 1.2e-4 for Qwen2.5-0.5B,
    /// so at about 8,300 tokens of context a prompt token's attention costs what its matmuls do.
    /// </summary>
    public double AttentionCostPerKey
    {
        get
        {
            if (NumHeads == 0 || HiddenSize == 0 || IntermediateSize == 0)
            {
                return 0;
            }
            double h = HiddenSize, q = (double)NumHeads * HeadDim, kv = (double)NumKvHeads * HeadDim;
            return 4 * q / (2 * ((2 * h * q) + (2 * h * kv) + (3 * h * IntermediateSize)));
        }
    }

    /// <summary>Reads and checks <c>manifest.json</c> in <paramref name="modelDirectory"/>.</summary>
    public static ModelManifest Load(string modelDirectory)
    {
        var path = Path.Combine(modelDirectory, "manifest.json");
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"{path} not found: not an exported model directory (export it with onnx-export)", path);
        }
        ModelManifest m;
        try
        {
            m = JsonSerializer.Deserialize<ModelManifest>(File.ReadAllBytes(path)) ?? throw new InvalidDataException($"{path} is empty (null)");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path} is not a valid manifest: {e.Message}", e);
        }
        if (m.FormatVersion != 1)
        {
            throw new InvalidDataException($"{path}: format_version must be 1 (given {m.FormatVersion}; 0 means it is missing)");
        }
        foreach (var (field, value) in new[] { ("num_hidden_layers", m.NumLayers), ("num_key_value_heads", m.NumKvHeads), ("head_dim", m.HeadDim), ("vocab_size", m.VocabSize), ("max_seq_len", m.MaxSeqLen) })
        {
            if (value < 1)
            {
                throw new InvalidDataException($"{path}: {field} must be at least 1 (given {value}; 0 means it is missing)");
            }
        }
        if (m.Precision is not ("fp32" or "fp16" or "int4"))
        {
            throw new InvalidDataException($"{path}: precision must be fp32, fp16 or int4 (given '{m.Precision}')");
        }
        if (m.KvCacheDtype is not ("float32" or "float16"))
        {
            throw new InvalidDataException($"{path}: kv_cache_dtype must be float32 or float16 (given '{m.KvCacheDtype}')");
        }
        if (m.Target is not (null or "cpu" or "cuda"))
        {
            throw new InvalidDataException($"{path}: target must be cpu or cuda (given '{m.Target}')");
        }
        m = m with { Target = m.Target ?? (m.KvCacheDtype == "float16" ? "cuda" : "cpu") };
        if (string.IsNullOrEmpty(m.OnnxFile) || !File.Exists(Path.Combine(modelDirectory, m.OnnxFile)))
        {
            throw new FileNotFoundException($"{path}: onnx_file '{m.OnnxFile}' not found in {modelDirectory}", Path.Combine(modelDirectory, m.OnnxFile ?? ""));
        }
        foreach (var key in new[] { "input_ids", "seqlens_k", "total_sequence_length", "past_key", "past_value" })
        {
            if (m.Inputs is null || !m.Inputs.ContainsKey(key))
            {
                throw new InvalidDataException($"{path}: inputs.{key} is missing");
            }
        }
        foreach (var key in new[] { "logits", "present_key", "present_value" })
        {
            if (m.Outputs is null || !m.Outputs.ContainsKey(key))
            {
                throw new InvalidDataException($"{path}: outputs.{key} is missing");
            }
        }
        if (m.Candidates is { } c)
        {
            CheckCandidates(path, modelDirectory, c, m.VocabSize);
        }
        return m;
    }

    private static void CheckCandidates(string path, string modelDirectory, CandidatesManifest c, int vocab)
    {
        if (c.K < 1 || c.K > vocab)
        {
            throw new InvalidDataException($"{path}: candidates.k must be in [1, {vocab}] (given {c.K}; 0 means it is missing)");
        }
        if (string.IsNullOrEmpty(c.OnnxFile) || !File.Exists(Path.Combine(modelDirectory, c.OnnxFile)))
        {
            throw new FileNotFoundException($"{path}: candidates.onnx_file '{c.OnnxFile}' not found in {modelDirectory}", Path.Combine(modelDirectory, c.OnnxFile ?? ""));
        }
        foreach (var (group, names, keys) in new[] { ("inputs", c.Inputs, new[] { "logits", "rows" }), ("outputs", c.Outputs, ["top_values", "top_ids", "log_sum_exp", "row_logits"]) })
        {
            foreach (var key in keys.Where(k => names is null || !names.ContainsKey(k)))
            {
                throw new InvalidDataException($"{path}: candidates.{group}.{key} is missing");
            }
        }
    }

    /// <summary>Expands a per-layer name pattern such as <c>past_key_values.{layer}.key</c>.</summary>
    public static string ForLayer(string pattern, int layer)
        => pattern.Replace("{layer}", layer.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal);
}
