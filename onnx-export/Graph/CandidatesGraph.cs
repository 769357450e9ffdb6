using Qwen.OnnxExport.Onnx;

namespace Qwen.OnnxExport.Graph;

/// <summary>
/// candidates.onnx: what the sampler needs of a batch of logits rows without reading them whole.
/// <code>
/// logits [B,V] ─TopK(K)─▶ values1, ids1 [B,K]      the K best, equal values in whatever order the kernel leaves them
///   kth = values1[:, K-1], above = #(values1 &gt; kth)                       [B,1]  (the K hold every value above kth)
///   tied_key = (logits == kth) · (V - id) ─TopK(K)─▶ tied_ids [B,K]          the ids equal to kth, lowest first
///   chosen[p] = p &lt; above ? ids1[p] : tied_ids[p - above]                 [B,K]  exactly the K the tie rule keeps
///   values = GatherElements(logits, chosen); rank(i) = #{j : v_j &gt; v_i or (v_j == v_i and id_j &lt; id_i)}
///   ScatterElements by rank ─▶ top_values [B,K], top_ids [B,K]              best first; equal values: lower id first
/// log_sum_exp = max + log(ReduceSum(exp(logits - max)))   [B]   (max = values1[:, 0])
/// row_logits = Gather(logits, rows, axis 0)               [R,V]
/// </code>
/// The tie rule is ONNX TopK's (equal values: lower index first), but it is built here from results that are unique,
/// because the sampler's exactness relies on it and not every TopK kernel keeps it: ONNX Runtime's CUDA RadixTopK (used
/// for K above 32 over a long axis) takes tied values at the K-th place in thread order and sorts the K by value alone.
/// Every op over [B,V] is a cheap vectorised pass: on this CPU, 8 rows, the first version (ReduceLogSumExp in double,
/// a Where-based selection) took 15 ms, this one (exps cast to double, then ReduceSum) about 4 ms (ONNX Runtime's profiler, a shared 2-core machine).
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
        var axis2 = onnx.Constant("axis_2", [2]);
        onnx.Node("TopK", [logits, kTensor], ["values1", "ids1"], "", ("axis", 1L), ("largest", 1L), ("sorted", 1L)); // [B,K]
        var kth = onnx.Node("Slice", ["values1", onnx.Constant("kth_start", [k - 1]), kTensor, axis1], ["kth"]); // [B,1]
        var aboveCount = onnx.Node("Cast", [onnx.Node("Greater", ["values1", kth], ["above_k"])], ["above_k_count"], "", ("to", (long)OnnxType.Int64)); // [B,K]
        var above = onnx.Node("ReduceSum", [aboveCount, axis1], ["above"], "", ("keepdims", 1L)); // [B,1]

        // V - id for the ids whose value equals kth, 0 for the others: distinct keys, the lowest id highest (exact in float).
        var reversedIds = onnx.Node("Range", [onnx.FloatConstant("vocab", vocab), onnx.FloatConstant("zero", 0f), onnx.FloatConstant("minus_one", -1f)], ["reversed_ids"]); // [V]
        var tied = onnx.Node("Cast", [onnx.Node("Equal", [logits, kth], ["tied"])], ["tied_float"], "", ("to", (long)OnnxType.Float)); // [B,V]
        var tiedKey = onnx.Node("Mul", [tied, reversedIds], ["tied_key"]); // [B,V]
        onnx.Node("TopK", [tiedKey, kTensor], ["tied_key_values", "tied_ids"], "", ("axis", 1L), ("largest", 1L), ("sorted", 1L)); // [B,K]

        // chosen[p] = p < above ? ids1[p] : tied_ids[p - above]
        var positions = onnx.Node("Range", [onnx.ScalarConstant("p_start", 0), onnx.ScalarConstant("p_end", k), onnx.ScalarConstant("p_step", 1)], ["positions"]); // [K]
        var fromTied = onnx.Node("Max", [onnx.Node("Sub", [positions, above], ["p_minus_above"]), onnx.ScalarConstant("zero_index", 0)], ["from_tied"]); // [B,K]
        var tiedChosen = onnx.Node("GatherElements", ["tied_ids", fromTied], ["tied_chosen"], "", ("axis", 1L)); // [B,K]
        var chosen = onnx.Node("Where", [onnx.Node("Less", [positions, above], ["is_above"]), "ids1", tiedChosen], ["chosen_ids"]); // [B,K]
        var values = onnx.Node("GatherElements", [logits, chosen], ["chosen_values"], "", ("axis", 1L)); // [B,K]

        // rank(i) = how many of the K go before i: a higher value, or the same value and a lower id.
        var vi = onnx.Node("Unsqueeze", [values, axis2], ["v_i"]);   // [B,K,1]
        var vj = onnx.Node("Unsqueeze", [values, axis1], ["v_j"]);   // [B,1,K]
        var idI = onnx.Node("Unsqueeze", [chosen, axis2], ["id_i"]); // [B,K,1]
        var idJ = onnx.Node("Unsqueeze", [chosen, axis1], ["id_j"]); // [B,1,K]
        var higher = onnx.Node("Greater", [vj, vi], ["higher"]);     // [B,K,K]
        var same = onnx.Node("Equal", [vj, vi], ["same"]);           // [B,K,K]
        var lowerId = onnx.Node("Less", [idJ, idI], ["lower_id"]);   // [B,K,K]
        var before = onnx.Node("Or", [higher, onnx.Node("And", [same, lowerId], ["same_lower_id"])], ["before"]); // [B,K,K]
        var count = onnx.Node("Cast", [before], ["before_count"], "", ("to", (long)OnnxType.Int64));
        var rank = onnx.Node("ReduceSum", [count, axis2], ["rank"], "", ("keepdims", 0L)); // [B,K]
        onnx.Node("ScatterElements", [values, rank, values], [IoNames.TopValues], "", ("axis", 1L));
        onnx.Node("ScatterElements", [chosen, rank, chosen], [IoNames.TopIds], "", ("axis", 1L));

        // log-sum-exp around the row's maximum (exp never overflows), the exps summed in double: a float sum was up to 1.4e-4
        // off the double reference; this is within 2 float ulps (CandidatesGraphTests).
        var max = onnx.Node("Slice", ["values1", onnx.Constant("max_start", [0]), onnx.Constant("max_end", [1]), axis1], ["max"]); // [B,1]
        var exp = onnx.Node("Exp", [onnx.Node("Sub", [logits, max], ["shifted"])], ["exp"]); // [B,V]
        var wide = onnx.Node("Cast", [exp], ["exp_double"], "", ("to", (long)OnnxType.Double)); // [B,V]
        var sum = onnx.Node("Cast", [onnx.Node("ReduceSum", [wide, axis1], ["exp_sum_double"], "", ("keepdims", 1L))], ["exp_sum"], "", ("to", (long)OnnxType.Float)); // [B,1]
        var lse = onnx.Node("Add", [onnx.Node("Log", [sum], ["log_sum"]), max], ["lse_2d"]); // [B,1]
        onnx.Node("Squeeze", [lse, axis1], [IoNames.LogSumExp]); // [B]
        onnx.Node("Gather", [logits, IoNames.Rows], [IoNames.RowLogits], "", ("axis", 0L)); // [R,V]
    }
}
