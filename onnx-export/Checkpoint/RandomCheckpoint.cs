using System.Text.Json.Nodes;

namespace Qwen.OnnxExport.Checkpoint;

/// <summary>
/// Writes a Hugging Face-format Qwen2 checkpoint with seeded random weights and the real Qwen2.5 tokenizer and chat
/// template (bundled in assets/qwen2.5). Same preset and seed give byte-identical files.
/// </summary>
public static class RandomCheckpoint
{
    /// <summary>The preset names.</summary>
    public static IReadOnlyList<string> Presets { get; } = ["tiny", "small", "qwen2.5-0.5b"];

    /// <summary>Where the bundled Qwen2.5 tokenizer files and configs live.</summary>
    public static string AssetsDirectory => Path.Combine(AppContext.BaseDirectory, "assets", "qwen2.5");

    /// <summary>The demo's generation_config.json max_new_tokens: the reply length a request without max_tokens gets.</summary>
    public const int DemoMaxNewTokens = 256;

    /// <summary>
    /// Writes config.json, model.safetensors (BF16), the tokenizer files and generation_config.json into <paramref name="directory"/>.
    /// <paramref name="demo"/> shapes the weights for the server's demo instead of for tests (see Fill) and
    /// sets generation_config's max_new_tokens to <see cref="DemoMaxNewTokens"/>. <paramref name="yarn"/> adds the rope_scaling
    /// Qwen2.5's model cards give for 128K tokens, with that factor.
    /// </summary>
    public static void Write(string preset, int seed, string directory, bool demo = false, double? yarn = null)
    {
        var config = PresetConfig(preset);
        if (yarn is { } factor)
        {
            config["rope_scaling"] = new JsonObject { ["type"] = "yarn", ["factor"] = factor, ["original_max_position_embeddings"] = (int)config["max_position_embeddings"]! };
        }
        Directory.CreateDirectory(directory);
        File.WriteAllText(Path.Combine(directory, "config.json"), config.ToJsonString(new() { WriteIndented = true }));
        foreach (var f in new[] { "vocab.json", "merges.txt", "tokenizer_config.json", "generation_config.json" })
        {
            var src = Path.Combine(AssetsDirectory, f);
            if (!File.Exists(src))
            {
                throw new ExportException($"missing bundled asset: {src}");
            }
            File.Copy(src, Path.Combine(directory, f));
        }
        DemoShape? shape = null;
        if (demo)
        {
            var generation = JsonNode.Parse(File.ReadAllText(Path.Combine(directory, "generation_config.json")))!.AsObject();
            generation["max_new_tokens"] = DemoMaxNewTokens;
            File.WriteAllText(Path.Combine(directory, "generation_config.json"), generation.ToJsonString(new() { WriteIndented = true }));
            shape = new DemoShape(EndTokenId(directory), Tied: (bool)config["tie_word_embeddings"]!);
        }

        int H = (int)config["hidden_size"]!, I = (int)config["intermediate_size"]!, V = (int)config["vocab_size"]!;
        int heads = (int)config["num_attention_heads"]!, kv = (int)config["num_key_value_heads"]!, layers = (int)config["num_hidden_layers"]!;
        var hd = H / heads;
        var tensors = new List<(string, long[])> { ("model.embed_tokens.weight", [V, H]) };
        for (var l = 0; l < layers; l++)
        {
            var p = $"model.layers.{l}.";
            tensors.AddRange(
            [
                (p + "input_layernorm.weight", [H]),
                (p + "self_attn.q_proj.weight", [heads * hd, H]), (p + "self_attn.q_proj.bias", [heads * hd]),
                (p + "self_attn.k_proj.weight", [kv * hd, H]), (p + "self_attn.k_proj.bias", [kv * hd]),
                (p + "self_attn.v_proj.weight", [kv * hd, H]), (p + "self_attn.v_proj.bias", [kv * hd]),
                (p + "self_attn.o_proj.weight", [H, heads * hd]),
                (p + "post_attention_layernorm.weight", [H]),
                (p + "mlp.gate_proj.weight", [I, H]), (p + "mlp.up_proj.weight", [I, H]), (p + "mlp.down_proj.weight", [H, I]),
            ]);
        }
        tensors.Add(("model.norm.weight", [H]));
        if (!(bool)config["tie_word_embeddings"]!)
        {
            tensors.Add(("lm_head.weight", [V, H]));
        }
        SafeTensorsWriter.Write(Path.Combine(directory, "model.safetensors"), tensors, (name, start, values) => Fill(name, Count(tensors, name), seed, H, start, values, shape));
    }

    /// <summary>
    /// Uniform values with the standard deviation each tensor needs: linear weights 1/sqrt(fan_in) keep activations at
    /// unit scale; norm weights 1±0.1; biases ±0.1·std; embeddings 6/sqrt(H), so after the final RMSNorm the logits
    /// have a standard deviation near 6 and the top two are typically ~1 apart (greedy never hinges on float noise).
    /// That suits tests, not a demo: so sharp, and with tied embeddings, a sampled reply repeats one token (the prompt's
    /// last "\n") until max_tokens. <paramref name="demo"/> (non-null) softens the embeddings and lm_head to 1.5/sqrt(H),
    /// so sampling at the generation config's temperature picks varied tokens, and scales &lt;|im_end|&gt;'s output row
    /// by 2.5, which spreads its logit wider than the rest so that now and then it is the likeliest: measured over 100
    /// seeded chat requests at the demo's defaults, tiny ended 93 of them with stop (median 30 tokens), small 80.
    /// </summary>
    private static void Fill(string name, long count, int seed, int hidden, long start, Span<float> values, DemoShape? demo)
    {
        var rng = new SplitMix64(Hash(name) ^ (ulong)seed, start);
        var embedding = name.Contains("embed_tokens", StringComparison.Ordinal);
        var output = name == "lm_head.weight" || (embedding && demo is { Tied: true });
        float center = 0, std;
        if (name.EndsWith("layernorm.weight", StringComparison.Ordinal) || name == "model.norm.weight")
        {
            center = 1;
            std = 0.1f / MathF.Sqrt(3);
        }
        else if (embedding || name == "lm_head.weight")
        {
            std = (demo is null ? 6f : 1.5f) / MathF.Sqrt(hidden);
        }
        else if (name.EndsWith(".bias", StringComparison.Ordinal))
        {
            std = 0.1f;
        }
        else
        {
            // Fan-in is the row length; the caller's shape is [out, in] and count/out = in.
            var fanIn = name.Contains("down_proj", StringComparison.Ordinal) || name.Contains("o_proj", StringComparison.Ordinal) ? count / hidden : hidden;
            std = 1f / MathF.Sqrt(fanIn);
        }
        var a = std * MathF.Sqrt(3); // uniform on [-a, a] has standard deviation a/sqrt(3)
        for (var i = 0; i < values.Length; i++)
        {
            var scale = output && demo is not null && (start + i) / hidden == demo.EndTokenId ? 2.5f : 1f;
            values[i] = center + (scale * a * ((2 * rng.NextFloat()) - 1));
        }
    }

    /// <summary>The id of &lt;|im_end|&gt; in the bundled tokenizer_config.json's added tokens.</summary>
    private static int EndTokenId(string directory)
    {
        var added = JsonNode.Parse(File.ReadAllText(Path.Combine(directory, "tokenizer_config.json")))!["added_tokens_decoder"]!.AsObject();
        return int.Parse(added.First(t => (string?)t.Value!["content"] == "<|im_end|>").Key, System.Globalization.CultureInfo.InvariantCulture);
    }

    private static long Count(List<(string Name, long[] Shape)> tensors, string name) => tensors.First(t => t.Name == name).Shape.Aggregate(1L, (a, b) => a * b);

    private static JsonObject PresetConfig(string preset)
    {
        var baseConfig = JsonNode.Parse(File.ReadAllText(Path.Combine(AssetsDirectory, "config.qwen2.5-0.5b-instruct.json")))!.AsObject();
        void Set(int h, int layers, int heads, int kv, int inter, bool tied)
        {
            baseConfig["hidden_size"] = h;
            baseConfig["num_hidden_layers"] = layers;
            baseConfig["num_attention_heads"] = heads;
            baseConfig["num_key_value_heads"] = kv;
            baseConfig["intermediate_size"] = inter;
            baseConfig["max_window_layers"] = layers;
            baseConfig["tie_word_embeddings"] = tied;
        }
        switch (preset)
        {
            case "tiny": Set(64, 2, 4, 2, 192, tied: true); break;
            case "small": Set(256, 4, 8, 2, 704, tied: false); break; // untied lm_head: the 7B-and-up layout
            case "qwen2.5-0.5b": break;
            default: throw new ExportException($"unknown --random preset '{preset}' (expected one of: {string.Join(", ", Presets)})");
        }
        baseConfig["torch_dtype"] = "bfloat16";
        return baseConfig;
    }

    /// <summary>What the demo's weights need to know: the end token's row and whether lm_head is the embedding.</summary>
    private sealed record DemoShape(int EndTokenId, bool Tied);

    private static ulong Hash(string s)
    {
        // FNV-1a: stable across runs and platforms (string.GetHashCode is randomized per process).
        var h = 14695981039346656037UL;
        foreach (var c in s)
        {
            h = (h ^ c) * 1099511628211UL;
        }
        return h;
    }

    /// <summary>SplitMix64 positioned at its <paramref name="skip"/>-th output: its state advances by a constant, so any chunk of a tensor can be generated on its own.</summary>
    private struct SplitMix64(ulong state, long skip)
    {
        private ulong _state = state + ((ulong)skip * 0x9E3779B97F4A7C15UL);

        /// <summary>The next value, uniform in [0, 1).</summary>
        public float NextFloat()
        {
            var z = _state += 0x9E3779B97F4A7C15UL;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            z ^= z >> 31;
            return (z >> 40) * (1f / (1 << 24)); // 24 random bits in [0, 1)
        }
    }
}
