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

    /// <summary>Size of one attention head.</summary>
    public int HeadDim => HiddenSize / NumAttentionHeads;

    /// <summary>Reads and checks <c>config.json</c>; throws <see cref="ExportException"/> naming what is wrong.</summary>
    public static QwenConfig Load(string path)
    {
        if (!File.Exists(path))
        {
            throw new ExportException($"missing file: {path}");
        }
        JsonObject o;
        try
        {
            o = JsonNode.Parse(File.ReadAllText(path))?.AsObject() ?? throw new ExportException($"{path}: not a JSON object");
        }
        catch (JsonException e)
        {
            throw new ExportException($"{path}: invalid JSON ({e.Message})");
        }
        var modelType = (string?)o["model_type"];
        if (modelType != "qwen2")
        {
            throw new ExportException($"{path}: unsupported model_type '{modelType}' (only 'qwen2', the Qwen2.5 dense family, is supported)");
        }
        if (o["rope_scaling"] is JsonObject scaling)
        {
            var kind = (string?)scaling["type"] ?? (string?)scaling["rope_type"];
            throw new ExportException($"{path}: rope_scaling type '{kind}' is not supported (remove rope_scaling to export the native 32K context; YaRN is not implemented)");
        }
        if ((bool?)o["use_sliding_window"] == true)
        {
            throw new ExportException($"{path}: use_sliding_window: true is not supported (Qwen2.5 releases ship it as false)");
        }
        int Int(string key) => (int?)o[key] ?? throw new ExportException($"{path}: missing '{key}'");
        var config = new QwenConfig
        {
            HiddenSize = Int("hidden_size"),
            IntermediateSize = Int("intermediate_size"),
            NumHiddenLayers = Int("num_hidden_layers"),
            NumAttentionHeads = Int("num_attention_heads"),
            NumKeyValueHeads = (int?)o["num_key_value_heads"] ?? Int("num_attention_heads"),
            VocabSize = Int("vocab_size"),
            MaxPositionEmbeddings = (int?)o["max_position_embeddings"] ?? 32768,
            RmsNormEps = (double?)o["rms_norm_eps"] ?? 1e-6,
            RopeTheta = (double?)o["rope_theta"] ?? 10000.0,
            TieWordEmbeddings = (bool?)o["tie_word_embeddings"] ?? false,
        };
        if (config.HiddenSize % config.NumAttentionHeads != 0 || config.NumAttentionHeads % config.NumKeyValueHeads != 0)
        {
            throw new ExportException($"{path}: hidden_size {config.HiddenSize}, num_attention_heads {config.NumAttentionHeads} and num_key_value_heads {config.NumKeyValueHeads} do not divide");
        }
        return config;
    }
}
