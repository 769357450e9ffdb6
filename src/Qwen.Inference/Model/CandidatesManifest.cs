using System.Text.Json.Serialization;

namespace Qwen.Inference.Model;

/// <summary>
/// The manifest's <c>candidates</c> entry: a second graph that turns decode logits [batch, vocab] into each row's K best
/// logits, their ids and the row's log-sum-exp, and copies out the rows it is asked for (src/Qwen.Inference/README.md).
/// </summary>
public sealed record CandidatesManifest
{
    /// <summary>The graph file, relative to the model directory.</summary>
    [JsonPropertyName("onnx_file")] public string OnnxFile { get; init; } = "candidates.onnx";

    /// <summary>Candidates per row.</summary>
    [JsonPropertyName("k")] public int K { get; init; }

    /// <summary>Input names: <c>logits</c> float32 [batch, vocab], <c>rows</c> int64 [rows].</summary>
    [JsonPropertyName("inputs")] public Dictionary<string, string> Inputs { get; init; } = [];

    /// <summary>
    /// Output names: <c>top_values</c> float32 [batch, K] (best first, equal values lower id first), <c>top_ids</c> int64
    /// [batch, K], <c>log_sum_exp</c> float32 [batch], <c>row_logits</c> float32 [rows, vocab].
    /// </summary>
    [JsonPropertyName("outputs")] public Dictionary<string, string> Outputs { get; init; } = [];
}
