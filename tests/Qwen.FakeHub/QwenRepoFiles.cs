using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Qwen.OnnxExport.Checkpoint;

namespace Qwen.FakeHub;

/// <summary>
/// Writes a random Qwen2.5 checkpoint (RandomCheckpoint's weights) in the exact file set of a real Qwen2.5 Instruct
/// repo: .gitattributes, LICENSE, README.md, config.json, generation_config.json, merges.txt,
/// model-0000k-of-0000N.safetensors + model.safetensors.index.json, tokenizer.json, tokenizer_config.json, vocab.json.
/// </summary>
public static class QwenRepoFiles
{
    /// <summary>The files an export reads: everything above except .gitattributes, LICENSE and README.md.</summary>
    public static IReadOnlyList<string> ExportFiles(int shards) =>
    [
        "config.json", "generation_config.json", "merges.txt",
        .. Enumerable.Range(1, shards).Select(k => ShardName(k, shards)),
        "model.safetensors.index.json", "tokenizer.json", "tokenizer_config.json", "vocab.json",
    ];

    /// <summary>Hugging Face's shard name, e.g. model-00001-of-00002.safetensors.</summary>
    public static string ShardName(int index, int shards) => $"model-{index:D5}-of-{shards:D5}.safetensors";

    /// <summary>
    /// Writes the repo's files into <paramref name="directory"/> (created if needed): same preset and seed give the same
    /// tensors as <see cref="RandomCheckpoint.Write"/>, split into <paramref name="shards"/> files of whole tensors in
    /// order, balanced by bytes.
    /// </summary>
    public static void Write(string preset, int seed, string directory, int shards = 2)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(shards);
        Directory.CreateDirectory(directory);
        var scratch = Path.Combine(Path.GetTempPath(), $"qwen-repo-{Guid.NewGuid():N}");
        try
        {
            RandomCheckpoint.Write(preset, seed, scratch);
            foreach (var name in new[] { "config.json", "generation_config.json", "merges.txt", "tokenizer_config.json", "vocab.json" })
            {
                File.Copy(Path.Combine(scratch, name), Path.Combine(directory, name), overwrite: true);
            }
            Shard(Path.Combine(scratch, "model.safetensors"), directory, shards);
            File.WriteAllText(Path.Combine(directory, "tokenizer.json"), TokenizerJson(scratch));
        }
        finally
        {
            Directory.Delete(scratch, recursive: true);
        }
        File.WriteAllText(Path.Combine(directory, ".gitattributes"), GitAttributes);
        File.WriteAllText(Path.Combine(directory, "LICENSE"), License);
        File.WriteAllText(Path.Combine(directory, "README.md"), $"---\nlicense: apache-2.0\nlanguage:\n- en\npipeline_tag: text-generation\nlibrary_name: transformers\n---\n\n# Random {preset} (seed {seed})\n\nRandom weights in the file set of a Qwen2.5 Instruct repo, for tests. Not a model.\n");
    }

    /// <summary>Splits a safetensors file into <paramref name="shards"/> valid safetensors files plus model.safetensors.index.json.</summary>
    private static void Shard(string source, string directory, int shards)
    {
        using var input = File.OpenRead(source);
        Span<byte> lengthBytes = stackalloc byte[8];
        input.ReadExactly(lengthBytes);
        var headerLength = BinaryPrimitives.ReadInt64LittleEndian(lengthBytes);
        var headerBytes = new byte[headerLength];
        input.ReadExactly(headerBytes);
        var dataStart = 8 + headerLength;
        var tensors = JsonNode.Parse(headerBytes)!.AsObject()
            .Where(t => t.Key != "__metadata__")
            .Select(t => (Name: t.Key, Info: t.Value!.AsObject(), Begin: (long)t.Value!["data_offsets"]![0]!, End: (long)t.Value!["data_offsets"]![1]!))
            .OrderBy(t => t.Begin)
            .ToList();
        if (shards > tensors.Count)
        {
            throw new ArgumentOutOfRangeException(nameof(shards), $"shards must be at most the {tensors.Count} tensors of {source} (given {shards})");
        }
        var total = tensors.Sum(t => t.End - t.Begin);
        // A tensor goes to the shard its middle byte falls in when the bytes are cut into equal parts, moving on at most
        // one shard per tensor and early enough that every shard holds at least one tensor.
        var groups = new List<int>[shards];
        for (var k = 0; k < shards; k++)
        {
            groups[k] = [];
        }
        var shard = 0;
        for (var i = 0; i < tensors.Count; i++)
        {
            var middle = (tensors[i].Begin + tensors[i].End) / 2.0;
            var wanted = (int)Math.Floor(middle * shards / Math.Max(total, 1));
            var next = i == 0 ? 0 : Math.Min(shard + 1, shards - 1);
            shard = Math.Max(Math.Clamp(wanted, shard, next), shards - (tensors.Count - i));
            groups[shard].Add(i);
        }
        var weightMap = new SortedDictionary<string, string>(StringComparer.Ordinal);
        var buffer = new byte[1 << 20];
        for (var k = 0; k < shards; k++)
        {
            var name = ShardName(k + 1, shards);
            var header = new JsonObject { ["__metadata__"] = new JsonObject { ["format"] = "pt" } };
            long offset = 0;
            foreach (var i in groups[k])
            {
                var t = tensors[i];
                var size = t.End - t.Begin;
                header[t.Name] = new JsonObject { ["dtype"] = t.Info["dtype"]!.DeepClone(), ["shape"] = t.Info["shape"]!.DeepClone(), ["data_offsets"] = new JsonArray(offset, offset + size) };
                offset += size;
                weightMap[t.Name] = name;
            }
            var json = header.ToJsonString();
            // The header is padded with spaces to a multiple of 8 bytes, as the safetensors format recommends.
            json += new string(' ', (8 - (Encoding.UTF8.GetByteCount(json) % 8)) % 8);
            var jsonBytes = Encoding.UTF8.GetBytes(json);
            using var output = new FileStream(Path.Combine(directory, name), FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20);
            BinaryPrimitives.WriteInt64LittleEndian(lengthBytes, jsonBytes.Length);
            output.Write(lengthBytes);
            output.Write(jsonBytes);
            foreach (var i in groups[k])
            {
                input.Position = dataStart + tensors[i].Begin;
                for (var left = tensors[i].End - tensors[i].Begin; left > 0;)
                {
                    var n = input.Read(buffer, 0, (int)Math.Min(buffer.Length, left));
                    if (n == 0)
                    {
                        throw new EndOfStreamException($"{source} ends inside tensor '{tensors[i].Name}'");
                    }
                    output.Write(buffer, 0, n);
                    left -= n;
                }
            }
        }
        // Hugging Face writes the index with json.dumps(indent=2, sort_keys=True).
        var index = new JsonObject
        {
            ["metadata"] = new JsonObject { ["total_size"] = total },
            ["weight_map"] = new JsonObject(weightMap.Select(e => KeyValuePair.Create(e.Key, (JsonNode?)e.Value))),
        };
        File.WriteAllText(Path.Combine(directory, "model.safetensors.index.json"), index.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
    }

    /// <summary>
    /// tokenizer.json as Qwen2.5 ships it (Hugging Face tokenizers format, one line): NFC, Split(regex, Isolated) then
    /// ByteLevel without its own regex, a byte-level BPE over vocab.json and merges.txt (merges as ["a","b"] pairs), and
    /// tokenizer_config.json's added tokens.
    /// </summary>
    private static string TokenizerJson(string directory)
    {
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(directory, "tokenizer_config.json")))!;
        var vocab = JsonNode.Parse(File.ReadAllText(Path.Combine(directory, "vocab.json")))!.AsObject();
        var merges = File.ReadLines(Path.Combine(directory, "merges.txt"))
            .Where(line => line.Length > 0 && !line.StartsWith("#version", StringComparison.Ordinal))
            .Select(line => line.Split(' ', 2));
        var byteLevel = new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["trim_offsets"] = false, ["use_regex"] = false };
        var tokenizer = new JsonObject
        {
            ["version"] = "1.0",
            ["truncation"] = null,
            ["padding"] = null,
            ["added_tokens"] = new JsonArray([.. config["added_tokens_decoder"]!.AsObject()
                .OrderBy(t => int.Parse(t.Key, System.Globalization.CultureInfo.InvariantCulture))
                .Select(t => (JsonNode)new JsonObject
                {
                    ["id"] = int.Parse(t.Key, System.Globalization.CultureInfo.InvariantCulture),
                    ["content"] = t.Value!["content"]!.DeepClone(),
                    ["single_word"] = t.Value!["single_word"]!.DeepClone(),
                    ["lstrip"] = t.Value!["lstrip"]!.DeepClone(),
                    ["rstrip"] = t.Value!["rstrip"]!.DeepClone(),
                    ["normalized"] = t.Value!["normalized"]!.DeepClone(),
                    ["special"] = t.Value!["special"]!.DeepClone(),
                })]),
            ["normalizer"] = new JsonObject { ["type"] = "NFC" },
            ["pre_tokenizer"] = new JsonObject
            {
                ["type"] = "Sequence",
                ["pretokenizers"] = new JsonArray(
                    new JsonObject
                    {
                        ["type"] = "Split",
                        ["pattern"] = new JsonObject { ["Regex"] = SplitPattern },
                        ["behavior"] = "Isolated",
                        ["invert"] = false,
                    },
                    byteLevel.DeepClone()),
            },
            ["post_processor"] = byteLevel.DeepClone(),
            ["decoder"] = byteLevel.DeepClone(),
            ["model"] = new JsonObject
            {
                ["type"] = "BPE",
                ["dropout"] = null,
                ["unk_token"] = null,
                ["continuing_subword_prefix"] = "",
                ["end_of_word_suffix"] = "",
                ["fuse_unk"] = false,
                ["byte_fallback"] = false,
                ["ignore_merges"] = false,
                ["vocab"] = new JsonObject(vocab.OrderBy(e => (int)e.Value!).Select(e => KeyValuePair.Create(e.Key, (JsonNode?)(int)e.Value!))),
                ["merges"] = new JsonArray([.. merges.Select(m => (JsonNode)new JsonArray(m[0], m[1]))]),
            },
        };
        return tokenizer.ToJsonString(new JsonSerializerOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
    }

    /// <summary>Qwen2.5's pre-tokenizer regex (tokenizer.json, pre_tokenizer.pretokenizers[0].pattern.Regex).</summary>
    private const string SplitPattern = @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    /// <summary>The LFS lines of a Hugging Face model repo's .gitattributes, plus Qwen2.5's tokenizer.json line.</summary>
    private const string GitAttributes = """
        *.7z filter=lfs diff=lfs merge=lfs -text
        *.arrow filter=lfs diff=lfs merge=lfs -text
        *.bin filter=lfs diff=lfs merge=lfs -text
        *.bz2 filter=lfs diff=lfs merge=lfs -text
        *.ckpt filter=lfs diff=lfs merge=lfs -text
        *.ftz filter=lfs diff=lfs merge=lfs -text
        *.gz filter=lfs diff=lfs merge=lfs -text
        *.h5 filter=lfs diff=lfs merge=lfs -text
        *.joblib filter=lfs diff=lfs merge=lfs -text
        *.lfs.* filter=lfs diff=lfs merge=lfs -text
        *.mlmodel filter=lfs diff=lfs merge=lfs -text
        *.model filter=lfs diff=lfs merge=lfs -text
        *.msgpack filter=lfs diff=lfs merge=lfs -text
        *.npy filter=lfs diff=lfs merge=lfs -text
        *.npz filter=lfs diff=lfs merge=lfs -text
        *.onnx filter=lfs diff=lfs merge=lfs -text
        *.ot filter=lfs diff=lfs merge=lfs -text
        *.parquet filter=lfs diff=lfs merge=lfs -text
        *.pb filter=lfs diff=lfs merge=lfs -text
        *.pickle filter=lfs diff=lfs merge=lfs -text
        *.pkl filter=lfs diff=lfs merge=lfs -text
        *.pt filter=lfs diff=lfs merge=lfs -text
        *.pth filter=lfs diff=lfs merge=lfs -text
        *.rar filter=lfs diff=lfs merge=lfs -text
        *.safetensors filter=lfs diff=lfs merge=lfs -text
        saved_model/**/* filter=lfs diff=lfs merge=lfs -text
        *.tar.* filter=lfs diff=lfs merge=lfs -text
        *.tar filter=lfs diff=lfs merge=lfs -text
        *.tflite filter=lfs diff=lfs merge=lfs -text
        *.tgz filter=lfs diff=lfs merge=lfs -text
        *.wasm filter=lfs diff=lfs merge=lfs -text
        *.xz filter=lfs diff=lfs merge=lfs -text
        *.zip filter=lfs diff=lfs merge=lfs -text
        *.zst filter=lfs diff=lfs merge=lfs -text
        *tfevents* filter=lfs diff=lfs merge=lfs -text
        tokenizer.json filter=lfs diff=lfs merge=lfs -text

        """;

    /// <summary>A short stand-in for the Apache-2.0 text real Qwen2.5 repos ship.</summary>
    private const string License = """
                                         Apache License
                                   Version 2.0, January 2004
                                http://www.apache.org/licenses/

        Licensed under the Apache License, Version 2.0 (the "License"); you may not use these files except in
        compliance with the License. You may obtain a copy of the License at http://www.apache.org/licenses/LICENSE-2.0

        Unless required by applicable law or agreed to in writing, software distributed under the License is
        distributed on an "AS IS" BASIS, WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.

        """;
}
