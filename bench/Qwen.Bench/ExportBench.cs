using System.Diagnostics;
using Qwen.Inference.Engine;
using Qwen.Inference.Model;
using Qwen.OnnxExport;

namespace Qwen.Bench;

/// <summary>
/// Export time and peak memory of a random preset: `export --preset qwen2.5-0.5b --precision fp32|int4` (one precision
/// per process, so peaks are separate). `export --agreement yes [--preset qwen2.5-0.5b] [--positions 64] [--tokens 64]
/// [--rounds 3] [--threads 0]` instead compares fp16, int4, int4 with a float32 lm_head, int4 with 128-weight blocks and int4 laid
/// out for CUDA against fp32 over 64 positions (top-1 agreement, max |logit error|) and times one-sequence greedy decode on
/// the CPU of the int4 variants (lm_head, block size, target), run
/// through ONNX Runtime directly with the KV cache bound in place, in alternating rounds.
/// </summary>
internal static class ExportBench
{
    public static Task<int> RunAsync(string[] args)
    {
        var a = new BenchArgs(args);
        var preset = a.Get("preset", "qwen2.5-0.5b");
        if (a.Get("agreement", "no") == "yes")
        {
            return Task.FromResult(Agreement(preset, a));
        }
        var precision = a.Get("precision", "int4");
        var output = Path.Combine(Path.GetTempPath(), $"qwen-export-bench-{preset}-{precision}-{Environment.ProcessId}");
        var result = ModelExporter.Export(new ExportOptions { RandomPreset = preset, Seed = 1, OutputDirectory = output, Precision = RandomModelCache.ParsePrecision(precision), Force = true });
        var onnxBytes = new DirectoryInfo(output).GetFiles("model.onnx*").Sum(f => f.Length);
        var sourceBytes = new DirectoryInfo(Path.Combine(output, "source")).GetFiles("*.safetensors").Sum(f => f.Length);
        Console.WriteLine($"export {preset} {precision}: {result.Seconds:F1} s (includes writing the random BF16 checkpoint), peak RSS {BenchArgs.PeakRssBytes() / 1048576.0:F0} MiB, model {onnxBytes / 1048576.0:F0} MiB, source {sourceBytes / 1048576.0:F0} MiB");
        Directory.Delete(output, recursive: true);
        return Task.FromResult(0);
    }

    private static int Agreement(string preset, BenchArgs a)
    {
        var positions = a.Int("positions", 64);
        var tokens = a.Int("tokens", 64);
        var rounds = a.Int("rounds", 3);
        var threads = a.Int("threads", 0);
        var fp32 = RandomModelCache.GetOrCreate(preset, "fp32", 1234);
        var models = new (string Name, string Dir)[]
        {
            ("fp16", RandomModelCache.GetOrCreate(preset, "fp16", 1234)),
            ("int4 (int4 lm_head)", RandomModelCache.GetOrCreate(preset, "int4", 1234)),
            ("int4 (fp32 lm_head)", Int4Variant(preset, fp32, "fp32head", 32, int4LmHead: false)),
            ("int4 block 128", Int4Variant(preset, fp32, "bs128", 128, int4LmHead: true)),
            ("int4 for cuda", RandomModelCache.GetOrCreate(preset, "int4", 1234, target: "cuda")),
        };
        Console.WriteLine($"{preset}, {Environment.ProcessorCount} cores; token at position t: (t * 7919) mod 151643, first as a prompt, then one decode step each");

        // The inputs the precision tests use: a deterministic token per position, fed one step at a time.
        var inputs = Enumerable.Range(0, positions).Select(i => (i * 7919) % 151643).ToArray();
        var reference = Logits(fp32, inputs, threads);
        foreach (var (name, dir) in models)
        {
            var low = Logits(dir, inputs, threads);
            var agree = 0;
            double maxError = 0, sumSquares = 0, sumSquaresRef = 0;
            for (var t = 0; t < positions; t++)
            {
                agree += ArgMax(reference[t]) == ArgMax(low[t]) ? 1 : 0;
                for (var i = 0; i < reference[t].Length; i++)
                {
                    var d = reference[t][i] - (double)low[t][i];
                    maxError = Math.Max(maxError, Math.Abs(d));
                    sumSquares += d * d;
                    sumSquaresRef += reference[t][i] * (double)reference[t][i];
                }
            }
            var size = new DirectoryInfo(dir).GetFiles("model.onnx*").Sum(f => f.Length) / 1048576.0;
            Console.WriteLine($"{name,-20} vs fp32 over {positions} positions: top-1 {agree}/{positions}, max |logit error| {maxError:F3}, relative RMS {Math.Sqrt(sumSquares / sumSquaresRef):F4}; model {size:F0} MiB");
        }

        // Decode speed of the int4 variants: they alternate so a busy machine slows all alike.
        var speeds = models.Skip(1).ToDictionary(m => m.Name, _ => new List<double>());
        for (var r = 0; r < rounds; r++)
        {
            foreach (var (name, dir) in models.Skip(1))
            {
                speeds[name].Add(DecodeTokensPerSecond(dir, tokens, threads));
            }
        }
        foreach (var (name, s) in speeds)
        {
            Console.WriteLine($"{name,-20} decode, 1 sequence, {tokens} tokens after a 16-token prompt: median {Statistics.Median(s):F1} tok/s over {rounds} rounds (best {s.Max():F1})");
        }
        Console.WriteLine($"peak RSS {BenchArgs.PeakRssBytes() / 1048576.0:F0} MiB");
        return 0;
    }

    /// <summary>An int4 variant (lm_head precision, block size), built once next to the cached models from the fp32 model's checkpoint.</summary>
    private static string Int4Variant(string preset, string fp32Dir, string suffix, int blockSize, bool int4LmHead)
    {
        var dir = Path.Combine(Path.GetDirectoryName(fp32Dir)!, $"{preset}-int4-{suffix}-seed1234-v{RandomModelCache.CacheVersion}");
        if (!File.Exists(Path.Combine(dir, "manifest.json")))
        {
            ModelExporter.Export(new ExportOptions { InputDirectory = Path.Combine(fp32Dir, "source"), OutputDirectory = dir, Precision = Precision.Int4, Int4LmHead = int4LmHead, Int4BlockSize = blockSize, Force = true });
        }
        return dir;
    }

    /// <summary>The server's own runner over one sequence (KV cache bound in place, as the engine drives it).</summary>
    private static OnnxModelRunner Runner(string dir, int cacheLen, int threads)
        => OnnxModelRunner.Create(dir, new EngineOptions { MaxNumSeqs = 1, MaxModelLen = cacheLen, IntraOpThreads = threads });

    private static float[][] Logits(string dir, int[] inputs, int threads)
    {
        using var r = Runner(dir, inputs.Length + 1, threads);
        return inputs.Select((token, t) =>
        {
            var logits = new float[r.VocabSize];
            r.Prefill(0, [token], t, logits);
            return logits;
        }).ToArray();
    }

    private static double DecodeTokensPerSecond(string dir, int tokens, int threads)
    {
        var prompt = Enumerable.Range(0, 16).Select(i => (i * 104729) % 151643).ToArray();
        using var r = Runner(dir, prompt.Length + tokens + 4, threads);
        var logits = new float[r.VocabSize];
        r.Prefill(0, prompt, 0, logits);
        var next = ArgMax(logits);
        r.Decode([next], [prompt.Length], logits); // warm-up step
        next = ArgMax(logits);
        var sw = Stopwatch.StartNew();
        for (var t = 0; t < tokens; t++)
        {
            r.Decode([next], [prompt.Length + 1 + t], logits);
            next = ArgMax(logits);
        }
        return tokens / sw.Elapsed.TotalSeconds;
    }

    private static int ArgMax(ReadOnlySpan<float> v)
    {
        var best = 0;
        for (var i = 1; i < v.Length; i++)
        {
            best = v[i] > v[best] ? i : best;
        }
        return best;
    }

}
