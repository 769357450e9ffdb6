using System.Diagnostics;
using System.Text.Json;
using Microsoft.ML.OnnxRuntime;
using Qwen.OnnxExport;

namespace Qwen.Bench;

/// <summary>
/// Export time and peak memory of a random preset: `export --preset qwen2.5-0.5b --precision fp32|int4` (one precision
/// per process, so peaks are separate). `export --agreement yes [--preset qwen2.5-0.5b] [--positions 64] [--tokens 64]
/// [--rounds 3] [--threads 0]` instead compares fp16, int4, int4 with a float32 lm_head and int4 with 128-weight blocks against fp32 over 64 positions
/// (top-1 agreement, max |logit error|) and times one-sequence greedy decode of the int4 variants (lm_head, block size), run
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
            Console.WriteLine($"{name,-20} decode, 1 sequence, {tokens} tokens after a 16-token prompt: median {Median(s):F1} tok/s over {rounds} rounds (best {s.Max():F1})");
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

    private static float[][] Logits(string dir, int[] inputs, int threads)
    {
        using var d = new Decoder(dir, inputs.Length + 1, threads);
        return inputs.Select((token, t) => d.Step([token], t).ToArray()).ToArray();
    }

    private static double DecodeTokensPerSecond(string dir, int tokens, int threads)
    {
        var prompt = Enumerable.Range(0, 16).Select(i => (i * 104729) % 151643).ToArray();
        using var d = new Decoder(dir, prompt.Length + tokens + 4, threads);
        var next = ArgMax(d.Step(prompt, 0));
        next = ArgMax(d.Step([next], prompt.Length)); // warm-up step
        var sw = Stopwatch.StartNew();
        for (var t = 0; t < tokens; t++)
        {
            next = ArgMax(d.Step([next], prompt.Length + 1 + t));
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

    private static double Median(List<double> values)
    {
        var s = values.Order().ToList();
        return s.Count % 2 == 1 ? s[s.Count / 2] : (s[(s.Count / 2) - 1] + s[s.Count / 2]) / 2;
    }

    /// <summary>One sequence over the graph as the manifest describes it: one KV buffer per layer bound as both past and present.</summary>
    private sealed class Decoder : IDisposable
    {
        private readonly InferenceSession _session;
        private readonly OrtValue[] _k, _v;
        private readonly float[] _logits;
        private readonly OrtValue _logitsValue;
        private readonly int _layers;
        private readonly JsonElement _inputs, _outputs; // the manifest's input and output names
        private readonly JsonDocument _manifest;

        public Decoder(string dir, int cacheLen, int threads)
        {
            _manifest = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "manifest.json")));
            var m = _manifest.RootElement;
            _inputs = m.GetProperty("inputs");
            _outputs = m.GetProperty("outputs");
            _layers = m.GetProperty("num_hidden_layers").GetInt32();
            long[] shape = [1, m.GetProperty("num_key_value_heads").GetInt32(), cacheLen, m.GetProperty("head_dim").GetInt32()];
            var elements = shape.Aggregate(1L, (x, y) => x * y);
            var half = m.GetProperty("kv_cache_dtype").GetString() == "float16";
            OrtValue Cache() => half
                ? OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, new Memory<Float16>(new Float16[elements]), shape)
                : OrtValue.CreateTensorValueFromMemory(new float[elements], shape);
            _k = Enumerable.Range(0, _layers).Select(_ => Cache()).ToArray();
            _v = Enumerable.Range(0, _layers).Select(_ => Cache()).ToArray();
            var vocab = m.GetProperty("vocab_size").GetInt32();
            _logits = new float[vocab];
            _logitsValue = OrtValue.CreateTensorValueFromMemory(_logits, [1, vocab]);
            using var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL, IntraOpNumThreads = threads > 0 ? threads : Environment.ProcessorCount, InterOpNumThreads = 1, ExecutionMode = ExecutionMode.ORT_SEQUENTIAL };
            _session = new InferenceSession(Path.Combine(dir, m.GetProperty("onnx_file").GetString()!), options);
        }

        /// <summary>Appends <paramref name="ids"/> after <paramref name="past"/> cached tokens; the last position's logits (valid until the next step).</summary>
        public ReadOnlySpan<float> Step(int[] ids, int past)
        {
            using var binding = _session.CreateIoBinding();
            using var input = OrtValue.CreateTensorValueFromMemory(ids.Select(t => (long)t).ToArray(), [1, ids.Length]);
            using var seqLens = OrtValue.CreateTensorValueFromMemory(new[] { past + ids.Length - 1 }, [1]);
            using var total = OrtValue.CreateTensorValueFromMemory(new[] { past + ids.Length }, []);
            binding.BindInput(Name(_inputs, "input_ids"), input);
            binding.BindInput(Name(_inputs, "seqlens_k"), seqLens);
            binding.BindInput(Name(_inputs, "total_sequence_length"), total);
            for (var l = 0; l < _layers; l++)
            {
                binding.BindInput(Name(_inputs, "past_key", l), _k[l]);
                binding.BindOutput(Name(_outputs, "present_key", l), _k[l]);
                binding.BindInput(Name(_inputs, "past_value", l), _v[l]);
                binding.BindOutput(Name(_outputs, "present_value", l), _v[l]);
            }
            binding.BindOutput(Name(_outputs, "logits"), _logitsValue);
            using var run = new RunOptions();
            _session.RunWithBinding(run, binding);
            return _logits;
        }

        private static string Name(JsonElement names, string key, int layer = 0)
            => names.GetProperty(key).GetString()!.Replace("{layer}", layer.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal);

        public void Dispose()
        {
            _session.Dispose();
            _manifest.Dispose();
            _logitsValue.Dispose();
            foreach (var v in _k.Concat(_v))
            {
                v.Dispose();
            }
        }
    }
}
