using System.Globalization;
using Qwen.Bench.Parity;
using Qwen.Inference.Engine;
using Qwen.OnnxExport;

namespace Qwen.Bench;

/// <summary>
/// A candidate (model directory + execution provider) against the CPU fp32 reference on the same checkpoint, in one
/// process, through the real engine (see <see cref="ParityCheck"/>). Usage:
/// <code>
/// parity [--model DIR --reference DIR | --preset tiny --precision fp16 --seed 1234]
///        [--execution-provider cpu|cuda] [--copy-inputs-at-bind] [--prompts 12] [--tokens 32] [--max-num-seqs 8]
///        [--prefill-chunk-size 64] [--tolerance 0.05] [--alternatives-tolerance 0.1] [--tie-margin 0] [--threads 0] [--out parity.json]
/// </code>
/// Without --model both sides are random presets built on first use (the candidate at --precision, the reference at
/// fp32, same seed). The reference may also be the candidate's own file, to compare a provider with the CPU on the same
/// weights (int4 for CUDA); --tie-margin then lets a divergence pass where the reference's top two were that close. The
/// reference always runs on the CPU with one slot. Prints a table per scenario and one verdict line; exit code 0 on PASS,
/// 1 on FAIL.
/// </summary>
internal static class ParityBench
{
    public static async Task<int> RunAsync(string[] args)
    {
        var a = new BenchArgs(args);
        var preset = a.Get("preset", "tiny");
        var precision = a.Get("precision", "fp16");
        var seed = a.Int("seed", 1234);
        var model = a.Get("model", "");
        var referenceDir = a.Get("reference", "");
        if (model.Length > 0 && referenceDir.Length == 0)
        {
            throw new ArgumentException("--reference DIR is required with --model: the same checkpoint exported at fp32, or the same file (run on the CPU)");
        }
        model = model.Length > 0 ? model : RandomModelCache.GetOrCreate(preset, precision, seed);
        referenceDir = referenceDir.Length > 0 ? referenceDir : RandomModelCache.GetOrCreate(preset, "fp32", seed);
        var prompts = a.Int("prompts", 12);
        var tokens = a.Int("tokens", 32);
        var slots = a.Int("max-num-seqs", 8);
        var tolerance = a.Double("tolerance") ?? 0.05;
        var alternativesTolerance = a.Double("alternatives-tolerance") ?? 0.1;
        var tieMargin = a.Double("tie-margin") ?? 0;
        var threads = a.Int("threads", 0);
        var provider = a.Get("execution-provider", "cpu");

        // Room for the longest prompt and its output, nothing more (the candidate's KV cache is slots x this).
        var maxModelLen = ParityCheck.MaxPromptLength + tokens;
        var candidateOptions = new EngineOptions
        {
            MaxNumSeqs = slots,
            MaxModelLen = maxModelLen,
            MaxWaiting = ParityCheck.BatchRequests(prompts, slots),
            // Smaller than most prompts, so the candidate prefills in chunks (a cache with history) where the reference does not.
            PrefillChunkSize = a.Int("prefill-chunk-size", 64),
            IntraOpThreads = threads,
            ExecutionProvider = provider,
            CopyInputsAtBind = a.Flag("copy-inputs-at-bind"),
            // On, so that a device check also runs the KV copies between slots (a repeated prompt reuses its cached rows).
            PrefixCaching = a.Get("prefix-caching", "on") == "on",
        };
        var referenceOptions = new EngineOptions { MaxNumSeqs = 1, MaxModelLen = maxModelLen, MaxWaiting = 0, PrefillChunkSize = maxModelLen, IntraOpThreads = threads, PrefixCaching = false };
        Console.WriteLine($"candidate {model} on {provider}{(candidateOptions.CopyInputsAtBind ? " (inputs copied at bind)" : "")}, {slots} slots, prefill chunks of {candidateOptions.PrefillChunkSize}, prefix caching {(candidateOptions.PrefixCaching ? "on" : "off")}");
        Console.WriteLine($"reference {referenceDir} on cpu, one request at a time; {prompts} prompts, {tokens} new tokens each, greedy, top {ParityCheck.TopLogprobs} logprobs compared by id");

        ParityReport report;
        await using (var candidate = InferenceEngine.Load(model, candidateOptions))
        await using (var reference = InferenceEngine.Load(referenceDir, referenceOptions))
        {
            report = await ParityCheck.RunAsync(candidate, reference, prompts, tokens, tolerance, alternativesTolerance, seed) with { TieMargin = tieMargin };
        }

        Console.WriteLine("| scenario | requests | tokens equal | first divergences (request:position) | max abs Δlogprob | alternatives |");
        Console.WriteLine("|---|---|---|---|---|---|");
        foreach (var s in report.Scenarios)
        {
            var divergences = s.Divergences.Count == 0 ? "none" : string.Join(' ', s.Divergences.Take(12).Select(d => string.Create(CultureInfo.InvariantCulture, $"{d.Request}:{d.Position}{(d.Margin is { } m ? $" (margin {m:F3})" : "")}"))) + (s.Divergences.Count > 12 ? $" (+{s.Divergences.Count - 12})" : "");
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {s.Name} | {s.Requests} | {s.TokensEqual}/{s.TokensTotal} | {divergences} | {s.MaxAbsLogprobDiff:F4} | {s.MaxAbsAlternativeLogprobDiff:F4} |"));
        }
        Console.WriteLine(report.Summary);

        if (a.Get("out", "") is { Length: > 0 } outPath)
        {
            var json = new
            {
                passed = report.Passed,
                candidate = new { model, execution_provider = provider, copy_inputs_at_bind = candidateOptions.CopyInputsAtBind, max_num_seqs = slots, prefill_chunk_size = candidateOptions.PrefillChunkSize },
                reference = new { model = referenceDir, execution_provider = "cpu" },
                prompts,
                tokens_each = tokens,
                seed,
                tokens_equal = report.TokensEqual,
                tokens_total = report.TokensTotal,
                max_abs_logprob_diff = report.MaxAbsLogprobDiff,
                tolerance,
                max_abs_alternative_logprob_diff = report.MaxAbsAlternativeLogprobDiff,
                alternatives_tolerance = alternativesTolerance,
                tie_margin = tieMargin,
                near_ties = report.NearTies,
                scenarios = report.Scenarios,
            };
            await BenchJson.WriteAsync(outPath, json);
        }
        return report.Passed ? 0 : 1;
    }
}
