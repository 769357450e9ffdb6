namespace Qwen.OnnxExport.Graph;

/// <summary>The graph's input and output names, as the manifest states them.</summary>
internal static class IoNames
{
    /// <summary>int64 [batch, seq]: the new tokens of each row.</summary>
    public const string InputIds = "input_ids";
    /// <summary>int32 [batch]: each row's total length after this step, minus 1.</summary>
    public const string SeqLensK = "seqlens_k";
    /// <summary>int32 scalar: at least every row's total length.</summary>
    public const string TotalSequenceLength = "total_sequence_length";
    /// <summary>float32 [batch, vocab]: the last position of each row.</summary>
    public const string Logits = "logits";
    /// <summary>Per-layer past key input, [batch, kv_heads, cache_len, head_dim]; {layer} is the layer index.</summary>
    public const string PastKeyPattern = "past_key_values.{layer}.key";
    /// <summary>Per-layer past value input.</summary>
    public const string PastValuePattern = "past_key_values.{layer}.value";
    /// <summary>Per-layer present key output: bound to the same buffer as the past key, so written in place.</summary>
    public const string PresentKeyPattern = "present.{layer}.key";
    /// <summary>Per-layer present value output.</summary>
    public const string PresentValuePattern = "present.{layer}.value";

    /// <summary>candidates.onnx: float32 [batch, vocab], the decoder's logits.</summary>
    public const string CandidateLogits = "logits";
    /// <summary>candidates.onnx: int64 [rows], the rows whose full logits are wanted (may be empty).</summary>
    public const string Rows = "rows";
    /// <summary>candidates.onnx: float32 [batch, K], each row's K highest logits, best first (equal values: lower id first).</summary>
    public const string TopValues = "top_values";
    /// <summary>candidates.onnx: int64 [batch, K], the token ids of <see cref="TopValues"/>.</summary>
    public const string TopIds = "top_ids";
    /// <summary>candidates.onnx: float32 [batch], log(sum(exp(logits))) of each whole row.</summary>
    public const string LogSumExp = "log_sum_exp";
    /// <summary>candidates.onnx: float32 [rows, vocab], the listed rows of the logits.</summary>
    public const string RowLogits = "row_logits";

    /// <summary>The past key input of <paramref name="layer"/>.</summary>
    public static string PastKey(int layer) => PastKeyPattern.Replace("{layer}", layer.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal);

    /// <summary>The past value input of <paramref name="layer"/>.</summary>
    public static string PastValue(int layer) => PastValuePattern.Replace("{layer}", layer.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal);

    /// <summary>The present key output of <paramref name="layer"/>.</summary>
    public static string PresentKey(int layer) => PresentKeyPattern.Replace("{layer}", layer.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal);

    /// <summary>The present value output of <paramref name="layer"/>.</summary>
    public static string PresentValue(int layer) => PresentValuePattern.Replace("{layer}", layer.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal);
}
