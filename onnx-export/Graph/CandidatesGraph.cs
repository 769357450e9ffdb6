using Qwen.OnnxExport.Onnx;

namespace Qwen.OnnxExport.Graph;

/// <summary>
/// candidates.onnx: what the sampler needs of a batch of logits rows without reading them whole.
/// <code>
/// logits [B,V] ─TopK(K)─▶ [B,K] ─last─▶ kth [B,1]         the K-th highest value (unique, whatever the kernel's tie order)
///   key = logits &gt; kth ? +inf : logits == kth ? -id : -inf  [B,V]   above kth, then the tied ids lowest first
///   TopK(key, K) ─▶ ids [B,K] ─GatherElements(logits)─▶ values [B,K]   exactly the K the tie rule keeps, in any order
///   rank(i) = #{j : v_j &gt; v_i or (v_j == v_i and id_j &lt; id_i)}  [B,K]   a permutation of 0..K-1
///   ScatterElements by rank ─▶ top_values [B,K], top_ids [B,K]        best first; equal values: lower id first
/// logits ─Cast(double)─ReduceLogSumExp(axis 1)─Cast(float)─▶ log_sum_exp [B]
/// logits ─Gather(rows, axis 0)─▶ row_logits [R,V]
/// </code>
/// The tie rule is ONNX TopK's (equal values: lower index first), but it is built here from ops whose results are unique,
/// because the sampler's exactness relies on it and not every TopK kernel keeps it: ONNX Runtime's CUDA RadixTopK (used
/// for K above 32 over a long axis) takes tied values at the K-th place in thread order and sorts the K by value alone.
/// </summary>
internal static class CandidatesGraph
{
    /// <summary>Emits the graph for a vocabulary of <paramref name="vocab"/> and <paramref name="k"/> candidates per row.</summary>
    public static void Build(OnnxModelBuilder onnx, int vocab, int k)
    {
        onnx.Input(IoNames.CandidateLogits, OnnxType.Float, "batch", vocab);
        onnx.Input(IoNames.Rows, OnnxType.Int64, "rows");
        onnx.Output(IoNames.TopValues, OnnxType.Float, "batch", k);
        onnx.Output(IoNames.TopIds, OnnxType.Int64, "batch", k);
        onnx.Output(IoNames.LogSumExp, OnnxType.Float, "batch");
        onnx.Output(IoNames.RowLogits, OnnxType.Float, "rows", vocab);

        var logits = IoNames.CandidateLogits;
        var kTensor = onnx.Constant("k", [k]);
        var axis1 = onnx.Constant("axis_1", [1]);
        onnx.Node("TopK", [logits, kTensor], ["raw_values", "raw_ids"], "", ("axis", 1L), ("largest", 1L), ("sorted", 1L)); // [B,K]
        var kth = onnx.Node("Slice", ["raw_values", onnx.Constant("kth_start", [k - 1]), onnx.Constant("kth_end", [k]), axis1], ["kth"]); // [B,1]

        // -id for every column, as float (exact: ids are far below 2^24).
        var negIds = onnx.Node("Range", [onnx.FloatConstant("zero", 0f), onnx.FloatConstant("minus_vocab", -vocab), onnx.FloatConstant("minus_one", -1f)], ["neg_ids"]); // [V]
        var above = onnx.Node("Greater", [logits, kth], ["above"]); // [B,V]
        var tied = onnx.Node("Equal", [logits, kth], ["tied"]);     // [B,V]
        var minusInf = onnx.FloatConstant("minus_inf", float.NegativeInfinity);
        var tiedKey = onnx.Node("Where", [tied, negIds, minusInf], ["tied_key"]); // [B,V]
        var key = onnx.Node("Where", [above, onnx.FloatConstant("plus_inf", float.PositiveInfinity), tiedKey], ["key"]); // [B,V]
        onnx.Node("TopK", [key, kTensor], ["key_values", "chosen_ids"], "", ("axis", 1L), ("largest", 1L), ("sorted", 1L)); // [B,K]
        var values = onnx.Node("GatherElements", [logits, "chosen_ids"], ["chosen_values"], "", ("axis", 1L)); // [B,K]

        // rank(i) = how many of the K go before i: a higher value, or the same value and a lower id.
        var axis2 = onnx.Constant("axis_2", [2]);
        var vi = onnx.Node("Unsqueeze", [values, axis2], ["v_i"]);              // [B,K,1]
        var vj = onnx.Node("Unsqueeze", [values, axis1], ["v_j"]);              // [B,1,K]
        var idI = onnx.Node("Unsqueeze", ["chosen_ids", axis2], ["id_i"]);      // [B,K,1]
        var idJ = onnx.Node("Unsqueeze", ["chosen_ids", axis1], ["id_j"]);      // [B,1,K]
        var higher = onnx.Node("Greater", [vj, vi], ["higher"]);                // [B,K,K]
        var same = onnx.Node("Equal", [vj, vi], ["same"]);                      // [B,K,K]
        var lowerId = onnx.Node("Less", [idJ, idI], ["lower_id"]);              // [B,K,K]
        var before = onnx.Node("Or", [higher, onnx.Node("And", [same, lowerId], ["same_lower_id"])], ["before"]); // [B,K,K]
        var count = onnx.Node("Cast", [before], ["before_count"], "", ("to", (long)OnnxType.Int64));
        var rank = onnx.Node("ReduceSum", [count, axis2], ["rank"], "", ("keepdims", 0L)); // [B,K]
        onnx.Node("ScatterElements", [values, rank, values], [IoNames.TopValues], "", ("axis", 1L));
        onnx.Node("ScatterElements", ["chosen_ids", rank, "chosen_ids"], [IoNames.TopIds], "", ("axis", 1L));

        // In double: ONNX Runtime's float reduction sums 151,936 terms in float32 (measured: 1.4e-4 off on a row near 28).
        var wide = onnx.Node("Cast", [logits], ["logits_double"], "", ("to", (long)OnnxType.Double)); // [B,V]
        var lse = onnx.Node("ReduceLogSumExp", [wide], ["log_sum_exp_double"], "", ("axes", new long[] { 1 }), ("keepdims", 0L)); // [B]
        onnx.Node("Cast", [lse], [IoNames.LogSumExp], "", ("to", (long)OnnxType.Float));
        onnx.Node("Gather", [logits, IoNames.Rows], [IoNames.RowLogits], "", ("axis", 0L)); // [R,V]
    }
}
