namespace Qwen.OnnxExport.Graph;

/// <summary>The graph's input and output names, as the manifest states them.</summary>
internal static class IoNames
{
    public const string InputIds = "input_ids";
    public const string SeqLensK = "seqlens_k";
    public const string TotalSequenceLength = "total_sequence_length";
    public const string Logits = "logits";
    public const string PastKeyPattern = "past_key_values.{layer}.key";
    public const string PastValuePattern = "past_key_values.{layer}.value";
    public const string PresentKeyPattern = "present.{layer}.key";
    public const string PresentValuePattern = "present.{layer}.value";

    public static string PastKey(int layer) => PastKeyPattern.Replace("{layer}", layer.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal);

    public static string PastValue(int layer) => PastValuePattern.Replace("{layer}", layer.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal);

    public static string PresentKey(int layer) => PresentKeyPattern.Replace("{layer}", layer.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal);

    public static string PresentValue(int layer) => PresentValuePattern.Replace("{layer}", layer.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal);
}
