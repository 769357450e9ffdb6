using System.Diagnostics;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using Qwen.OnnxExport.Checkpoint;
using Qwen.OnnxExport.Graph;
using Qwen.OnnxExport.Onnx;

namespace Qwen.OnnxExport;

/// <summary>Exports a Qwen2.5 checkpoint (or a random preset) to a model directory: model.onnx, model.onnx.data, manifest.json, tokenizer files.</summary>
public static class ModelExporter
{
    /// <summary>The manifest's format version: the engine accepts this one.</summary>
    public const int FormatVersion = 1;

    private static readonly string[] TokenizerFiles = ["tokenizer.json", "vocab.json", "merges.txt", "tokenizer_config.json", "generation_config.json"];

    /// <summary>Runs the export. Writes into a temporary sibling directory and renames it at the end, so a failed export leaves nothing that looks complete.</summary>
    public static ExportResult Export(ExportOptions options, IProgress<double>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        var watch = Stopwatch.StartNew();
        var output = Path.GetFullPath(options.OutputDirectory);
        if ((options.InputDirectory is null) == (options.RandomPreset is null))
        {
            throw new ExportException("give exactly one of --input <hf-dir> or --random <preset>");
        }
        if (Directory.Exists(output) && !options.Force)
        {
            throw new ExportException($"output directory exists: {output} (use --force to replace it)");
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
                RandomCheckpoint.Write(options.RandomPreset, options.Seed, input);
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
            var maxSeqLen = options.MaxSeqLen ?? Math.Min(config.MaxPositionEmbeddings, 32768);
            if (maxSeqLen < 1 || maxSeqLen > config.MaxPositionEmbeddings)
            {
                throw new ExportException($"--max-seq-len must be in [1, {config.MaxPositionEmbeddings}] (given {maxSeqLen})");
            }
            var hasTokenizer = File.Exists(Path.Combine(input, "tokenizer.json")) || (File.Exists(Path.Combine(input, "vocab.json")) && File.Exists(Path.Combine(input, "merges.txt")));
            if (!hasTokenizer || !File.Exists(Path.Combine(input, "tokenizer_config.json")))
            {
                throw new ExportException($"missing tokenizer files in {input} (need tokenizer.json or vocab.json + merges.txt, and tokenizer_config.json)");
            }

            using var weights = new SafeTensorsReader(input);
            var sha = HashSources([Path.Combine(input, "config.json"), .. weights.FilePaths]);
            using (var data = new FileStream(Path.Combine(temp, "model.onnx.data"), FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20))
            {
                var onnx = new OnnxModelBuilder(data, "model.onnx.data");
                new QwenGraph(config, weights, onnx, options.Precision, maxSeqLen).Build(progress);
                using var model = new FileStream(Path.Combine(temp, "model.onnx"), FileMode.CreateNew, FileAccess.Write);
                onnx.WriteModel(model, "qwen2");
            }
            foreach (var f in TokenizerFiles.Where(f => File.Exists(Path.Combine(input, f))))
            {
                if (Path.GetDirectoryName(Path.Combine(input, f)) != temp)
                {
                    File.Copy(Path.Combine(input, f), Path.Combine(temp, f));
                }
            }
            WriteManifest(Path.Combine(temp, "manifest.json"), config, options, maxSeqLen, sha);

            if (Directory.Exists(output))
            {
                Directory.Delete(output, recursive: true);
            }
            Directory.Move(temp, output);
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

    private static void WriteManifest(string path, QwenConfig c, ExportOptions o, int maxSeqLen, string sha)
    {
        var manifest = new JsonObject
        {
            ["format_version"] = FormatVersion,
            ["model_type"] = "qwen2",
            ["precision"] = o.Precision.ToString().ToLowerInvariant(),
            ["onnx_file"] = "model.onnx",
            ["num_hidden_layers"] = c.NumHiddenLayers,
            ["num_attention_heads"] = c.NumAttentionHeads,
            ["num_key_value_heads"] = c.NumKeyValueHeads,
            ["head_dim"] = c.HeadDim,
            ["hidden_size"] = c.HiddenSize,
            ["intermediate_size"] = c.IntermediateSize,
            ["vocab_size"] = c.VocabSize,
            ["max_seq_len"] = maxSeqLen,
            ["kv_cache_dtype"] = o.Precision == Precision.Fp16 ? "float16" : "float32",
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
            ["source"] = new JsonObject
            {
                ["sha256"] = sha,
                ["random_preset"] = o.RandomPreset,
                ["seed"] = o.RandomPreset is null ? null : o.Seed,
            },
        };
        File.WriteAllText(path, manifest.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
    }

    private static string HashSources(IEnumerable<string> files)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[1 << 20];
        foreach (var f in files)
        {
            using var s = File.OpenRead(f);
            int n;
            while ((n = s.Read(buffer)) > 0)
            {
                sha.AppendData(buffer, 0, n);
            }
        }
        return Convert.ToHexStringLower(sha.GetHashAndReset());
    }
}
