using System.Text.Json;
using System.Text.Json.Nodes;

namespace Qwen.OnnxExport.Checkpoint;

/// <summary>The parts of a Hugging Face Qwen2 <c>config.json</c> that shape the graph.</summary>
public sealed record QwenConfig
{
    /// <summary>Width of the residual stream.</summary>
    public required int HiddenSize { get; init; }

    /// <summary>Width of the MLP.</summary>
    public required int IntermediateSize { get; init; }

    /// <summary>Decoder layers.</summary>
    public required int NumHiddenLayers { get; init; }

    /// <summary>Query heads.</summary>
    public required int NumAttentionHeads { get; init; }

    /// <summary>Key/value heads (grouped-query attention).</summary>
    public required int NumKeyValueHeads { get; init; }

    /// <summary>Vocabulary rows of the embedding and lm_head.</summary>
    public required int VocabSize { get; init; }

    /// <summary>Longest position the model was trained for.</summary>
    public required int MaxPositionEmbeddings { get; init; }

    /// <summary>RMSNorm epsilon.</summary>
    public required double RmsNormEps { get; init; }

    /// <summary>RoPE base.</summary>
    public required double RopeTheta { get; init; }

    /// <summary>Whether lm_head reuses the embedding matrix.</summary>
    public required bool TieWordEmbeddings { get; init; }

    /// <summary>config.json's <c>torch_dtype</c> (bfloat16, float16 or float32), which every tensor must match; null when absent.</summary>
    public string? TorchDtype { get; init; }

    /// <summary>rope_scaling of type yarn; null for plain RoPE.</summary>
    public YarnScaling? RopeScaling { get; init; }

    /// <summary>The longest sequence the rotary tables may cover: factor × original with YaRN, else max_position_embeddings.</summary>
    public int MaxPositions => RopeScaling?.MaxPositions ?? MaxPositionEmbeddings;

    /// <summary>Size of one attention head.</summary>
    public int HeadDim => HiddenSize / NumAttentionHeads;

    /// <summary>Reads and checks <c>config.json</c>; throws <see cref="ExportException"/> naming the file, the field and the value.</summary>
    public static QwenConfig Load(string path)
    {
        if (!File.Exists(path))
        {
            throw new ExportException($"missing file: {path}");
        }
        JsonObject o;
        try
        {
            o = JsonNode.Parse(File.ReadAllBytes(path)) as JsonObject ?? throw new ExportException($"{path}: not a JSON object");
        }
        catch (JsonException e)
        {
            throw new ExportException($"{path}: invalid JSON ({e.Message})");
        }
        return Parse(o, path);
    }

    /// <summary>Checks a parsed <c>config.json</c>; <paramref name="path"/> names it in messages.</summary>
    public static QwenConfig Parse(JsonObject o, string path)
    {
        ArgumentNullException.ThrowIfNull(o);
        T? Get<T>(string key, string kind)
        {
            var node = o[key];
            if (node is null)
            {
                return default;
            }
            if (node is JsonValue v && v.TryGetValue(out T? value))
            {
                return value;
            }
            throw new ExportException($"{path}: '{key}' must be {kind} (given {node.ToJsonString()})");
        }
        int Int(string key, int? fallback = null)
        {
            var node = o[key];
            if (node is null)
            {
                return fallback ?? throw new ExportException($"{path}: missing '{key}'");
            }
            if (node is JsonValue v && v.TryGetValue(out int value) && value > 0)
            {
                return value;
            }
            throw new ExportException($"{path}: '{key}' must be a positive integer (given {node.ToJsonString()})");
        }
        double Positive(string key, double fallback)
        {
            var value = o[key] is null ? fallback : Get<double>(key, "a number");
            return value > 0 && double.IsFinite(value) ? value : throw new ExportException($"{path}: '{key}' must be a positive number (given {o[key]!.ToJsonString()})");
        }

        var modelType = Get<string>("model_type", "a string");
        if (modelType != "qwen2")
        {
            throw new ExportException($"{path}: unsupported model_type '{modelType}' (only 'qwen2', the Qwen2.5 dense family, is supported)");
        }
        var maxPositions = Int("max_position_embeddings", 32768);
        YarnScaling? ropeScaling = null;
        if (o["rope_scaling"] is JsonObject scaling)
        {
            // Transformers reads "rope_type" and, from older configs, "type"; Qwen2.5's model cards write "type".
            var kinds = new[] { "type", "rope_type" }.Select(k => scaling[k]).OfType<JsonNode>().Select(k => k is JsonValue v && v.TryGetValue(out string? s) ? s : k.ToJsonString()).Distinct().ToArray();
            if (kinds.Length != 1 || kinds[0] != "yarn")
            {
                var named = kinds.Length == 0 ? "none given" : string.Join("' and '", kinds);
                throw new ExportException($"{path}: rope_scaling type '{named}' is not supported (only 'yarn', the 128K-token scaling of Qwen2.5's model cards; remove rope_scaling, or export with --yarn off, for the native context)");
            }
            ropeScaling = YarnScaling.Parse(scaling, maxPositions, path);
        }
        else if (o["rope_scaling"] is { } other)
        {
            throw new ExportException($"{path}: 'rope_scaling' must be null or an object (given {other.ToJsonString()})");
        }
        if (Get<bool>("use_sliding_window", "true or false"))
        {
            throw new ExportException($"{path}: use_sliding_window: true is not supported (Qwen2.5 releases ship it as false)");
        }
        // Newer transformers releases write "dtype" where older ones wrote "torch_dtype".
        var dtypeKey = o["torch_dtype"] is not null || o["dtype"] is null ? "torch_dtype" : "dtype";
        var torchDtype = Get<string>(dtypeKey, "a string");
        if (torchDtype is not null && torchDtype is not ("bfloat16" or "float16" or "float32"))
        {
            throw new ExportException($"{path}: {dtypeKey} '{torchDtype}' is not supported (bfloat16, float16 or float32; quantized checkpoints are not)");
        }
        var heads = Int("num_attention_heads");
        var config = new QwenConfig
        {
            HiddenSize = Int("hidden_size"),
            IntermediateSize = Int("intermediate_size"),
            NumHiddenLayers = Int("num_hidden_layers"),
            NumAttentionHeads = heads,
            NumKeyValueHeads = Int("num_key_value_heads", heads),
            VocabSize = Int("vocab_size"),
            MaxPositionEmbeddings = maxPositions,
            RmsNormEps = Positive("rms_norm_eps", 1e-6),
            RopeTheta = Positive("rope_theta", 10000.0),
            TieWordEmbeddings = Get<bool>("tie_word_embeddings", "true or false"),
            TorchDtype = torchDtype,
            RopeScaling = ropeScaling,
        };
        if (config.HiddenSize % config.NumAttentionHeads != 0 || config.NumAttentionHeads % config.NumKeyValueHeads != 0 || config.HeadDim % 2 != 0)
        {
            throw new ExportException($"{path}: hidden_size {config.HiddenSize}, num_attention_heads {config.NumAttentionHeads} and num_key_value_heads {config.NumKeyValueHeads} do not divide into an even head size shared by whole groups");
        }
        return config;
    }
}
