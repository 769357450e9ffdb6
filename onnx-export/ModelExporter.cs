using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using Qwen.OnnxExport.Checkpoint;
using Qwen.OnnxExport.Graph;
using Qwen.OnnxExport.Onnx;

namespace Qwen.OnnxExport;

/// <summary>Exports a Qwen2.5 checkpoint (or a random preset) to a model directory: model.onnx, model.onnx.data, candidates.onnx, manifest.json, tokenizer files.</summary>
public static class ModelExporter
{
    /// <summary>The manifest's format version: the engine accepts this one.</summary>
    public const int FormatVersion = 1;

    private const string DataFile = "model.onnx.data";

    private const string CandidatesFile = "candidates.onnx";

    private static readonly string[] TokenizerFiles = ["tokenizer.json", "vocab.json", "merges.txt", "tokenizer_config.json", "generation_config.json"];

    /// <summary>
    /// Runs the export. Writes into a temporary sibling directory and renames it at the end, so a failed export leaves
    /// nothing that looks complete; <paramref name="progress"/> hears of the hashing and the writing of the weights.
    /// </summary>
    public static ExportResult Export(ExportOptions options, IProgress<ExportProgress>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        var watch = Stopwatch.StartNew();
        var output = Path.GetFullPath(options.OutputDirectory);
        if ((options.InputDirectory is null) == (options.RandomPreset is null))
        {
            throw new ExportException("give exactly one of --input <hf-dir> or --random <preset>");
        }
        if ((Directory.Exists(output) && !options.Force) || File.Exists(output))
        {
            throw new ExportException($"output {(File.Exists(output) ? "path is a file" : "directory exists")}: {output}{(File.Exists(output) ? "" : " (use --force to replace it)")}");
        }
        var temp = $"{output}.tmp-{Environment.ProcessId}-{Guid.NewGuid():N}";
        try
        {
            Directory.CreateDirectory(temp);
            string input;
            if (options.RandomPreset is not null)
            {
                // The random checkpoint stays in the model directory (source/) so tests can read the same weights.
                input = Path.Combine(temp, "source");
                RandomCheckpoint.Write(options.RandomPreset, options.Seed, input, options.Demo, options.Yarn is > 0 ? options.Yarn : null);
            }
            else
            {
                input = Path.GetFullPath(options.InputDirectory!);
                if (!Directory.Exists(input))
                {
                    throw new ExportException($"input directory not found: {input}");
                }
            }

            var config = QwenConfig.Load(Path.Combine(input, "config.json"));
            config = options.Yarn switch
            {
                null => config,
                0 => config with { RopeScaling = null },
                >= 1 and var factor when double.IsFinite(factor) => config with { RopeScaling = YarnScaling.ModelCard(factor, config.MaxPositionEmbeddings) },
                var other => throw new ExportException($"--yarn must be off or a factor of at least 1 (given {other})"),
            };
            var maxSeqLen = options.MaxSeqLen ?? (config.RopeScaling is null ? Math.Min(config.MaxPositionEmbeddings, 32768) : config.MaxPositions);
            if (maxSeqLen < 1 || maxSeqLen > config.MaxPositions)
            {
                var yarn = config.RopeScaling is { } y ? $", {y.Factor} x {y.OriginalMaxPositionEmbeddings} with YaRN" : "";
                throw new ExportException($"--max-seq-len must be in [1, {config.MaxPositions}{yarn}] (given {maxSeqLen})");
            }
            if (!ExportOptions.IsValidInt4BlockSize(options.Int4BlockSize))
            {
                throw new ExportException($"--int4-block-size must be 16, 32, 64, 128 or 256 (given {options.Int4BlockSize})");
            }
            if (options.Candidates < ExportOptions.MinCandidates || options.Candidates > config.VocabSize)
            {
                throw new ExportException($"--candidates must be in [{ExportOptions.MinCandidates}, {config.VocabSize}] (the vocabulary; at least {ExportOptions.MinCandidates} because top_logprobs asks for up to {ExportOptions.MinCandidates}) (given {options.Candidates})");
            }
            var target = TargetOf(options); // refuses a precision and target that have no layout, before any work
            var hasTokenizer = File.Exists(Path.Combine(input, "tokenizer.json")) || (File.Exists(Path.Combine(input, "vocab.json")) && File.Exists(Path.Combine(input, "merges.txt")));
            if (!hasTokenizer || !File.Exists(Path.Combine(input, "tokenizer_config.json")))
            {
                throw new ExportException($"missing tokenizer files in {input} (need tokenizer.json or vocab.json + merges.txt, and tokenizer_config.json)");
            }

            var settings = new GraphSettings(options.Precision, maxSeqLen) { ChunkBytes = options.ChunkBytes, Int4LmHead = options.Int4LmHead, Int4BlockSize = options.Int4BlockSize, Target = target };
            settings = settings with { FusedGateUp = options.FusedGateUp ?? settings.FusedGateUp };
            using var weights = new SafeTensorsReader(input, config.TorchDtype);
            // A plan-only pass checks every tensor's name, dtype and shape first (a bad checkpoint fails in seconds, not
            // after minutes of writing) and gives the size of the external data for the progress bar.
            var plan = Plan(config, settings, weights);
            // The output needs room for the external data (the weights) before minutes are spent writing it; 1% and 64 MiB
            // spare for model.onnx, the tokenizer files and the file system's own blocks.
            var needed = plan.ExternalDataLength + (plan.ExternalDataLength / 100) + (64L << 20);
            var free = options.FreeBytes(temp);
            if (free < needed)
            {
                throw new ExportException(string.Create(CultureInfo.InvariantCulture, $"not enough disk space for the export: {needed / 1e9:F2} GB needed in {Path.GetDirectoryName(output)}, {free / 1e9:F2} GB free"));
            }
            var sha = HashSources([Path.Combine(input, "config.json"), .. weights.FilePaths], progress);

            long written = 0;
            using (var data = File.OpenHandle(Path.Combine(temp, DataFile), FileMode.CreateNew, FileAccess.Write, FileShare.None, FileOptions.None, plan.ExternalDataLength))
            {
                var onnx = new OnnxModelBuilder(data, DataFile, n => progress?.Report(new ExportProgress("writing", written += n, plan.ExternalDataLength)));
                new QwenGraph(config, weights, onnx, settings).Build();
                using var model = new FileStream(Path.Combine(temp, "model.onnx"), FileMode.CreateNew, FileAccess.Write);
                onnx.WriteModel(model, "qwen2");
            }
            WriteCandidates(Path.Combine(temp, CandidatesFile), config.VocabSize, options.Candidates);
            foreach (var f in TokenizerFiles.Where(f => File.Exists(Path.Combine(input, f))))
            {
                File.Copy(Path.Combine(input, f), Path.Combine(temp, f));
            }
            WriteManifest(Path.Combine(temp, "manifest.json"), config, options, settings, sha);
            Publish(temp, output);
            return new ExportResult(output, sha, watch.Elapsed.TotalSeconds);
        }
        finally
        {
            if (Directory.Exists(temp))
            {
                Directory.Delete(temp, recursive: true);
            }
        }
    }

    /// <summary>
    /// The planned initializers of a config (name, shape, byte range in the external data): what an export of that config
    /// would write. Allocates no weights; given <paramref name="weights"/>, it checks each tensor's name, dtype and shape.
    /// </summary>
    internal static OnnxModelBuilder Plan(QwenConfig config, GraphSettings settings, SafeTensorsReader? weights = null)
    {
        var plan = new OnnxModelBuilder(null, DataFile);
        new QwenGraph(config, weights, plan, settings).Build();
        return plan;
    }

    /// <summary>
    /// Moves the finished directory into place. An existing one (--force) is renamed aside first and deleted only once
    /// the new one is in place, so at every moment <paramref name="output"/> is either the old model or the new one.
    /// </summary>
    private static void Publish(string temp, string output)
    {
        string? aside = null;
        if (Directory.Exists(output))
        {
            aside = $"{output}.old-{Environment.ProcessId}-{Guid.NewGuid():N}";
            Directory.Move(output, aside);
        }
        try
        {
            Directory.Move(temp, output);
        }
        catch
        {
            if (aside is not null)
            {
                Directory.Move(aside, output);
            }
            throw;
        }
        if (aside is not null)
        {
            try
            {
                Directory.Delete(aside, recursive: true);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // The new model is in place; a leftover <output>.old-* copy is harmless and must not fail the export.
            }
        }
    }

    /// <summary>Writes candidates.onnx (<see cref="CandidatesGraph"/>): a few constants, no external data.</summary>
    private static void WriteCandidates(string path, int vocab, int k)
    {
        var onnx = new OnnxModelBuilder(null, DataFile);
        CandidatesGraph.Build(onnx, vocab, k);
        using var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write);
        onnx.WriteModel(file, "candidates");
    }

    /// <summary>
    /// The target of <paramref name="o"/>, refusing the pairs with no layout: fp32 on CUDA (its float32 attention has no CUDA
    /// kernel) and fp16 for the CPU (the fp16 graph is laid out for CUDA and runs on the CPU as it is).
    /// </summary>
    private static Target TargetOf(ExportOptions o) => (o.Precision, o.Target ?? ExportOptions.DefaultTarget(o.Precision)) switch
    {
        (Precision.Fp32, Target.Cuda) => throw new ExportException("--precision fp32 has no CUDA layout: ONNX Runtime's CUDA GroupQueryAttention takes float16 or bfloat16 only; use --precision fp16, or --precision int4 --target cuda"),
        (Precision.Fp16, Target.Cpu) => throw new ExportException("--precision fp16 is laid out for CUDA and runs on the CPU as it is; --target cpu applies to int4 only"),
        (_, var t) => t,
    };

    private static void WriteManifest(string path, QwenConfig c, ExportOptions o, GraphSettings settings, string sha)
    {
        var manifest = new JsonObject
        {
            ["format_version"] = FormatVersion,
            ["model_type"] = "qwen2",
            ["precision"] = o.Precision.ToString().ToLowerInvariant(),
            ["target"] = settings.Target.ToString().ToLowerInvariant(),
            ["onnx_file"] = "model.onnx",
            ["num_hidden_layers"] = c.NumHiddenLayers,
            ["num_attention_heads"] = c.NumAttentionHeads,
            ["num_key_value_heads"] = c.NumKeyValueHeads,
            ["head_dim"] = c.HeadDim,
            ["hidden_size"] = c.HiddenSize,
            ["intermediate_size"] = c.IntermediateSize,
            ["vocab_size"] = c.VocabSize,
            ["max_seq_len"] = settings.MaxSeqLen,
            ["kv_cache_dtype"] = settings.HalfActivations ? "float16" : "float32",
            ["logits_dtype"] = "float32",
            ["inputs"] = new JsonObject
            {
                ["input_ids"] = IoNames.InputIds,
                ["seqlens_k"] = IoNames.SeqLensK,
                ["total_sequence_length"] = IoNames.TotalSequenceLength,
                ["past_key"] = IoNames.PastKeyPattern,
                ["past_value"] = IoNames.PastValuePattern,
            },
            ["outputs"] = new JsonObject
            {
                ["logits"] = IoNames.Logits,
                ["present_key"] = IoNames.PresentKeyPattern,
                ["present_value"] = IoNames.PresentValuePattern,
            },
            ["candidates"] = new JsonObject
            {
                ["onnx_file"] = CandidatesFile,
                ["k"] = o.Candidates,
                ["inputs"] = new JsonObject
                {
                    ["logits"] = IoNames.CandidateLogits,
                    ["rows"] = IoNames.Rows,
                },
                ["outputs"] = new JsonObject
                {
                    ["top_values"] = IoNames.TopValues,
                    ["top_ids"] = IoNames.TopIds,
                    ["log_sum_exp"] = IoNames.LogSumExp,
                    ["row_logits"] = IoNames.RowLogits,
                },
            },
            ["source"] = new JsonObject
            {
                ["sha256"] = sha,
                ["random_preset"] = o.RandomPreset,
                ["seed"] = o.RandomPreset is null ? null : o.Seed,
                ["demo"] = o.RandomPreset is null ? null : o.Demo,
                ["repo"] = o.Origin?.Repo,
                ["revision"] = o.Origin?.Revision,
                ["commit"] = o.Origin?.Commit,
            },
        };
        if (c.RopeScaling is { } yarn)
        {
            manifest.Insert(manifest.IndexOf("max_seq_len") + 1, "rope_scaling", yarn.ToJson());
        }
        File.WriteAllText(path, manifest.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
    }

    private static string HashSources(IReadOnlyList<string> files, IProgress<ExportProgress>? progress)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[1 << 20];
        // The size of what a path leads to: a Hugging Face cache snapshot holds symbolic links, whose own length is the link's.
        var total = files.Sum(f => (File.ResolveLinkTarget(f, returnFinalTarget: true) is { } target ? new FileInfo(target.FullName) : new FileInfo(f)).Length);
        long done = 0;
        progress?.Report(new ExportProgress("hashing", 0, total));
        foreach (var f in files)
        {
            using var s = File.OpenRead(f);
            int n;
            while ((n = s.Read(buffer)) > 0)
            {
                sha.AppendData(buffer, 0, n);
                progress?.Report(new ExportProgress("hashing", done += n, total));
            }
        }
        return Convert.ToHexStringLower(sha.GetHashAndReset());
    }
}
