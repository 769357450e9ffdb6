using System.Diagnostics;
using System.Globalization;
using System.Text;
using Qwen.FakeHub;
using Qwen.OnnxExport;
using Qwen.OnnxExport.Checkpoint;
using Qwen.OnnxExport.Graph;

namespace Qwen.Bench;

/// <summary>
/// `hub-models`: the README's table of Qwen2.5 Hub repos. Per repo: parameters, the BF16 download, the exact size of
/// the weights file (model.onnx.data) of each export from the exporter's own plan, disk in all, memory to serve with the
/// default KV cache, and export time: measured here for the 0.5B shapes (a random checkpoint written as a two-shard
/// repo, exported at int4 and at fp16, each in a child process so its peak RSS is its own), estimated for the rest by
/// scaling the measured seconds per GB of checkpoint read (median of `--rounds 3`). `--measure no` prints the sizes only.
/// </summary>
internal static class HubModelsBench
{
    /// <summary>Bytes in a GB as the Hub shows sizes (decimal).</summary>
    private const double GB = 1e9;

    /// <summary>The engine's defaults, whose slots and tokens per slot are the server's default KV cache.</summary>
    private static readonly Qwen.Inference.Engine.EngineOptions EngineDefaults = new();

    /// <summary>The base shapes (config.json of each Qwen2.5 size, as in tests/Qwen.OnnxExport.Tests/Graph/RealSizePlanTests.cs).</summary>
    private static readonly Dictionary<string, (int H, int Layers, int Heads, int Kv, int Inter, int Vocab, bool Tied)> Shapes = new()
    {
        ["0.5B"] = (896, 24, 14, 2, 4864, 151936, true),
        ["1.5B"] = (1536, 28, 12, 2, 8960, 151936, true),
        ["3B"] = (2048, 36, 16, 2, 11008, 151936, true),
        ["7B"] = (3584, 28, 28, 4, 18944, 152064, false),
        ["14B"] = (5120, 48, 40, 8, 13824, 152064, false),
        ["32B"] = (5120, 64, 40, 8, 27648, 152064, false),
        ["72B"] = (8192, 80, 64, 8, 29568, 152064, false),
    };

    /// <summary>The repos: Instruct at every size, Coder and Math at theirs (same shapes as the base size; Math's max_position_embeddings is 4096).</summary>
    private static readonly (string Repo, string Size, int MaxPositions)[] Repos =
    [
        .. new[] { "0.5B", "1.5B", "3B", "7B", "14B", "32B", "72B" }.Select(s => ($"Qwen/Qwen2.5-{s}-Instruct", s, 32768)),
        .. new[] { "0.5B", "1.5B", "3B", "7B", "14B", "32B" }.Select(s => ($"Qwen/Qwen2.5-Coder-{s}-Instruct", s, 32768)),
        .. new[] { "1.5B", "7B", "72B" }.Select(s => ($"Qwen/Qwen2.5-Math-{s}-Instruct", s, 4096)),
    ];

    private static readonly (string Name, Precision Precision, Target Target)[] Exports =
    [
        ("int4 (CPU)", Precision.Int4, Target.Cpu),
        ("fp16 (CUDA)", Precision.Fp16, Target.Cuda),
        ("int4 (CUDA)", Precision.Int4, Target.Cuda),
    ];

    public static Task<int> RunAsync(string[] args)
    {
        var a = new BenchArgs(args);
        if (a.Get("export-child", "") is { Length: > 0 } input)
        {
            return Task.FromResult(ExportChild(input, a.Get("precision", "int4"), a.Get("output", "")));
        }
        Dictionary<string, Measured>? measured = null;
        if (a.Get("measure", "yes") == "yes")
        {
            measured = Measure(a.Int("seed", 1), a.Int("rounds", 3));
        }
        Console.WriteLine(Table(measured));
        return Task.FromResult(0);
    }

    /// <summary>One export measured in its own process: wall seconds of ModelExporter.Export, its peak RSS, the checkpoint bytes it read.</summary>
    private sealed record Measured(double Seconds, long PeakRss, long CheckpointBytes, long DataBytes, long OtherBytes)
    {
        public double SecondsPerGB => Seconds / (CheckpointBytes / GB);
    }

    private static Dictionary<string, Measured> Measure(int seed, int rounds)
    {
        var root = Directory.CreateTempSubdirectory("qwen-hub-models-").FullName;
        try
        {
            var repo = Path.Combine(root, "repo");
            var watch = Stopwatch.StartNew();
            QwenRepoFiles.Write("qwen2.5-0.5b", seed, repo);
            var checkpoint = new DirectoryInfo(repo).GetFiles("*.safetensors").Sum(f => f.Length);
            Console.WriteLine($"random qwen2.5-0.5b repo written in {watch.Elapsed.TotalSeconds:F1} s ({checkpoint / GB:F3} GB of safetensors in 2 shards)");
            var config = QwenConfig.Load(Path.Combine(repo, "config.json"));
            var runs = new Dictionary<string, List<Measured>> { ["int4"] = [], ["fp16"] = [] };
            // Precisions alternate round by round, so a machine busy with other work slows both alike.
            for (var round = 1; round <= rounds; round++)
            {
                foreach (var (precision, list) in runs)
                {
                    var output = Path.Combine(root, precision);
                    var line = RunChild(repo, precision, output);
                    var fields = line.Split(' ').Select(f => f.Split('=')).ToDictionary(f => f[0], f => f[1]);
                    var data = new FileInfo(Path.Combine(output, "model.onnx.data")).Length;
                    var other = new DirectoryInfo(output).GetFiles().Sum(f => f.Length) - data;
                    var m = new Measured(double.Parse(fields["seconds"], CultureInfo.InvariantCulture), long.Parse(fields["rss"], CultureInfo.InvariantCulture), checkpoint, data, other);
                    list.Add(m);
                    // The table's sizes come from the plan: the file written must be exactly that long.
                    var planned = ModelExporter.Plan(config, new GraphSettings(RandomModelCache.ParsePrecision(precision), Math.Min(config.MaxPositionEmbeddings, 32768))).ExternalDataLength;
                    Console.WriteLine($"round {round}: export qwen2.5-0.5b {precision}: {m.Seconds:F1} s, {m.SecondsPerGB:F2} s per GB of checkpoint, peak RSS {m.PeakRss / 1048576.0:F0} MiB, model.onnx.data {data} bytes ({(data == planned ? "=" : "!=")} plan {planned}), other files {other / 1e6:F1} MB");
                    Directory.Delete(output, recursive: true);
                }
            }
            var result = runs.ToDictionary(r => r.Key, r => r.Value.OrderBy(m => m.Seconds).ElementAt(r.Value.Count / 2));
            foreach (var (precision, m) in result)
            {
                Console.WriteLine($"median of {rounds}: {precision} {m.Seconds:F1} s ({m.SecondsPerGB:F2} s/GB); largest peak RSS {runs[precision].Max(r => r.PeakRss) / 1048576.0:F0} MiB");
            }
            return result;
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    /// <summary>Runs this program again as `hub-models --export-child`, so the export's peak RSS is not mixed with this process's.</summary>
    private static string RunChild(string input, string precision, string output)
    {
        var start = BenchArgs.Self("hub-models", "--export-child", input, "--precision", precision, "--output", output);
        using var child = Process.Start(start)!;
        var stdout = child.StandardOutput.ReadToEnd();
        child.WaitForExit();
        if (child.ExitCode != 0)
        {
            throw new InvalidOperationException($"the {precision} export child exited with {child.ExitCode}: {stdout.Trim()}");
        }
        return stdout.Trim().Split('\n')[^1];
    }

    private static int ExportChild(string input, string precision, string output)
    {
        var result = ModelExporter.Export(new ExportOptions { InputDirectory = input, OutputDirectory = output, Precision = RandomModelCache.ParsePrecision(precision), Force = true });
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"seconds={result.Seconds:F3} rss={BenchArgs.PeakRssBytes()}"));
        return 0;
    }

    private static string Table(Dictionary<string, Measured>? measured)
    {
        var s = new StringBuilder();
        s.AppendLine("| repo | parameters | download (BF16) | int4 (CPU) | fp16 (CUDA) | int4 (CUDA) | disk, int4 CPU | disk, fp16 CUDA | memory, int4 CPU | memory, fp16 CUDA | memory, int4 CUDA | export time int4 | export time fp16 |");
        s.AppendLine("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
        foreach (var (repo, size, maxPositions) in Repos)
        {
            var shape = Shapes[size];
            var config = new QwenConfig
            {
                HiddenSize = shape.H,
                IntermediateSize = shape.Inter,
                NumHiddenLayers = shape.Layers,
                NumAttentionHeads = shape.Heads,
                NumKeyValueHeads = shape.Kv,
                VocabSize = shape.Vocab,
                MaxPositionEmbeddings = maxPositions,
                RmsNormEps = 1e-6,
                RopeTheta = maxPositions == 4096 ? 10000 : 1000000,
                TieWordEmbeddings = shape.Tied,
                TorchDtype = "bfloat16",
            };
            var parameters = Parameters(config);
            var download = 2 * parameters;
            // The exporter's default rotary length: min(max_position_embeddings, 32768).
            var maxSeqLen = Math.Min(maxPositions, 32768);
            var sizes = Exports.Select(e => ModelExporter.Plan(config, new GraphSettings(e.Precision, maxSeqLen) { Target = e.Target }).ExternalDataLength).ToArray();
            // KV cache: slots x tokens x layers x (K and V) x kv_heads x head_dim, float32 on the CPU, float16 for CUDA.
            var kv = (long)EngineDefaults.MaxNumSeqs * EngineDefaults.MaxModelLen * config.NumHiddenLayers * 2 * config.NumKeyValueHeads * config.HeadDim;
            long[] memory = [sizes[0] + (4 * kv), sizes[1] + (2 * kv), sizes[2] + (2 * kv)];
            string Time(string precision) => measured is null ? "" : size == "0.5B"
                ? $"{measured[precision].Seconds:F1} s (measured)"
                : $"~{Duration(measured[precision].SecondsPerGB * download / GB)}";
            s.AppendLine(CultureInfo.InvariantCulture, $"| {repo} | {parameters / 1e9:F2} B | {Gb(download)} | {Gb(sizes[0])} | {Gb(sizes[1])} | {Gb(sizes[2])} | {Gb(download + sizes[0])} | {Gb(download + sizes[1])} | {Gb(memory[0])} | {Gb(memory[1])} | {Gb(memory[2])} | {Time("int4")} | {Time("fp16")} |");
        }
        return s.ToString();
    }

    /// <summary>Parameters of a Qwen2 checkpoint from its shapes: embedding, per layer two norms, q/k/v (with biases), o, the MLP; final norm; lm_head unless tied.</summary>
    private static long Parameters(QwenConfig c)
    {
        long h = c.HiddenSize, kvWidth = (long)c.NumKeyValueHeads * c.HeadDim;
        var layer = (2 * h) + ((h * h) + h) + (2 * ((kvWidth * h) + kvWidth)) + (h * h) + (3L * c.IntermediateSize * h);
        return ((long)c.VocabSize * h * (c.TieWordEmbeddings ? 1 : 2)) + (c.NumHiddenLayers * layer) + h;
    }

    private static string Gb(long bytes) => string.Create(CultureInfo.InvariantCulture, $"{bytes / GB:F1} GB");

    private static string Duration(double seconds) => seconds < 90
        ? string.Create(CultureInfo.InvariantCulture, $"{seconds:F0} s")
        : string.Create(CultureInfo.InvariantCulture, $"{seconds / 60:F0} min");
}
