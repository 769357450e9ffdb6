using System.Text.Json.Nodes;
using Qwen.OnnxExport.Checkpoint;
using Qwen.OnnxExport.Graph;
using Qwen.OnnxExport.Onnx;

namespace Qwen.OnnxExport.Tests.Graph;

/// <summary>
/// Every Qwen2.5 dense size, 0.5B to 72B, is expressible: its config.json parses and the graph plans every tensor with
/// the right shape and size, without a checkpoint and without allocating a single weight.
/// </summary>
public sealed class RealSizePlanTests
{
    private const int MaxSeqLen = 4096;

    /// <summary>Shapes from the Qwen2.5 config.json files; parameter counts as Hugging Face reports them for each model.</summary>
    public static TheoryData<string, int, int, int, int, int, int, bool, long> Sizes => new()
    {
        { "0.5B", 896, 24, 14, 2, 4864, 151936, true, 494_032_768 },
        { "1.5B", 1536, 28, 12, 2, 8960, 151936, true, 1_543_714_304 },
        { "3B", 2048, 36, 16, 2, 11008, 151936, true, 3_085_938_688 },
        { "7B", 3584, 28, 28, 4, 18944, 152064, false, 7_615_616_512 },
        { "14B", 5120, 48, 40, 8, 13824, 152064, false, 14_770_033_664 },
        { "32B", 5120, 64, 40, 8, 27648, 152064, false, 32_763_876_352 },
        { "72B", 8192, 80, 64, 8, 29568, 152064, false, 72_706_203_648 },
    };

    [Theory]
    [MemberData(nameof(Sizes))]
    public void RealConfig_Fp32AndFp16Plans_HoldEveryParameterWithTheRightShapes(string size, int h, int layers, int heads, int kv, int inter, int vocab, bool tied, long parameters)
    {
        var config = Load(size, h, layers, heads, kv, inter, vocab, tied);
        var hd = h / heads;
        var rotaryValues = 2L * MaxSeqLen * (hd / 2);
        foreach (var (precision, width) in new[] { (Precision.Fp32, 4), (Precision.Fp16, 2) })
        {
            var plan = ModelExporter.Plan(config, new GraphSettings(precision, MaxSeqLen));
            var byName = plan.Initializers.ToDictionary(i => i.Name);
            // A tied lm_head is the embedding initializer itself, so the parameters are stored exactly once.
            Assert.Equal((parameters + rotaryValues) * width, plan.Initializers.Sum(i => i.Length));
            Assert.Equal([vocab, h], byName["model.embed_tokens.weight"].Dims);
            Assert.Equal(!tied, byName.ContainsKey("lm_head.weight"));
            var last = $"model.layers.{layers - 1}.";
            Assert.Equal([h, h + (2 * kv * hd)], byName[last + "self_attn.qkv_proj.weight_t"].Dims);
            Assert.Equal([h + (2 * kv * hd)], byName[last + "self_attn.qkv_proj.bias"].Dims);
            Assert.Equal([h, h], byName[last + "self_attn.o_proj.weight_t"].Dims);
            Assert.Equal([h, 2 * inter], byName[last + "mlp.gate_up_proj.weight_t"].Dims); // gate and up side by side: one MatMul
            Assert.DoesNotContain(last + "mlp.gate_proj.weight_t", byName.Keys);
            Assert.Equal([inter, h], byName[last + "mlp.down_proj.weight_t"].Dims);
            AssertLaidOut(plan);
        }
    }

    [Theory]
    [MemberData(nameof(Sizes))]
    public void RealConfig_Int4Plan_QuantizesEveryLinearAndLmHead(string size, int h, int layers, int heads, int kv, int inter, int vocab, bool tied, long parameters)
    {
        var config = Load(size, h, layers, heads, kv, inter, vocab, tied);
        var hd = h / heads;
        var qkv = h + (2 * kv * hd);
        // MatMulNBits per [N, K] weight: N·K/32 blocks of 16 bytes plus one float scale each.
        static long NBits(long n, long k) => n * (k / 32) * (16 + 4);
        var perLayer = NBits(qkv, h) + NBits(h, h) + (2 * NBits(inter, h)) + NBits(h, inter) + (4L * (qkv + (2 * h)));
        var expected = (4L * vocab * h) + (layers * perLayer) + (4L * h) + NBits(vocab, h) + (4L * 2 * MaxSeqLen * (hd / 2));
        var plan = ModelExporter.Plan(config, new GraphSettings(Precision.Int4, MaxSeqLen));
        var byName = plan.Initializers.ToDictionary(i => i.Name);
        Assert.Equal(expected, plan.Initializers.Sum(i => i.Length));
        // Each parameter once: 4-bit in a qweight (32 per 16-byte block), or float32 (embedding, norms, biases); a tied
        // lm_head is quantized from the embedding, so those values appear twice.
        var quantized = plan.Initializers.Where(i => i.Name.EndsWith(".qweight", StringComparison.Ordinal)).Sum(i => i.Length * 2);
        var floats = plan.Initializers.Where(i => i.Type == OnnxType.Float && !i.Name.EndsWith(".scales", StringComparison.Ordinal) && !i.Name.StartsWith("cos", StringComparison.Ordinal) && !i.Name.StartsWith("sin", StringComparison.Ordinal)).Sum(i => i.Length / 4);
        Assert.Equal(parameters + (tied ? (long)vocab * h : 0), quantized + floats);
        Assert.Equal([vocab, h / 32, 16], byName["lm_head.qweight"].Dims);
        Assert.Equal([h, inter / 32, 16], byName[$"model.layers.{layers - 1}.mlp.down_proj.qweight"].Dims);
        Assert.DoesNotContain(plan.Initializers, i => i.Name.EndsWith(".weight_t", StringComparison.Ordinal));
        // The int4 scales are the one per-tensor array held whole while a weight streams: far below 1 GB even at 72B.
        Assert.All(plan.Initializers.Where(i => i.Name.EndsWith(".scales", StringComparison.Ordinal)), i => Assert.True(i.Length < (1L << 30), $"{i.Name}: {i.Length} bytes"));
        AssertLaidOut(plan);

        var fp32Head = ModelExporter.Plan(config, new GraphSettings(Precision.Int4, MaxSeqLen) { Int4LmHead = false });
        Assert.Equal(tied, !fp32Head.Initializers.Any(i => i.Name == "lm_head.weight"));
        Assert.DoesNotContain(fp32Head.Initializers, i => i.Name.StartsWith("lm_head.q", StringComparison.Ordinal));
    }

    [Fact]
    public void SevenB_Fp32_EmbeddingAndLmHeadExceedTwoGigabytes_ExternalDataIsLaidOutPastThem()
    {
        // The tensors that overflowed a managed span before weights were streamed: 152,064 × 3,584 float32 = 2.18 GB each.
        var plan = ModelExporter.Plan(Load("7B", 3584, 28, 28, 4, 18944, 152064, false), new GraphSettings(Precision.Fp32, MaxSeqLen));
        var embed = plan.Initializers.Single(i => i.Name == "model.embed_tokens.weight");
        var head = plan.Initializers.Single(i => i.Name == "lm_head.weight");
        Assert.Equal(152064L * 3584 * 4, embed.Length);
        Assert.True(embed.Length > int.MaxValue);
        Assert.True(head.Offset > 7_000_000_000L * 4);
        Assert.Equal(plan.ExternalDataLength, (head.Offset + head.Length + 63) / 64 * 64);
    }

    /// <summary>Every initializer starts 64-byte aligned right after the previous one, and the file ends after the last.</summary>
    private static void AssertLaidOut(OnnxModelBuilder plan)
    {
        long end = 0;
        foreach (var i in plan.Initializers)
        {
            Assert.Equal((end + 63) / 64 * 64, i.Offset);
            Assert.Equal(i.Dims.Aggregate(1L, (a, d) => a * d) * (i.Type switch { OnnxType.Float => 4, OnnxType.Float16 => 2, _ => 1 }), i.Length);
            end = i.Offset + i.Length;
        }
        Assert.Equal((end + 63) / 64 * 64, plan.ExternalDataLength);
        Assert.Equal(plan.Initializers.Count, plan.Initializers.Select(i => i.Name).Distinct().Count());
    }

    /// <summary>A config.json as the Qwen2.5 releases ship it, written to disk and read back through the exporter's parser.</summary>
    private static QwenConfig Load(string size, int h, int layers, int heads, int kv, int inter, int vocab, bool tied)
    {
        var json = new JsonObject
        {
            ["architectures"] = new JsonArray("Qwen2ForCausalLM"),
            ["attention_dropout"] = 0.0,
            ["bos_token_id"] = 151643,
            ["eos_token_id"] = 151645,
            ["hidden_act"] = "silu",
            ["hidden_size"] = h,
            ["initializer_range"] = 0.02,
            ["intermediate_size"] = inter,
            ["max_position_embeddings"] = 32768,
            ["max_window_layers"] = layers,
            ["model_type"] = "qwen2",
            ["num_attention_heads"] = heads,
            ["num_hidden_layers"] = layers,
            ["num_key_value_heads"] = kv,
            ["rms_norm_eps"] = 1e-6,
            ["rope_scaling"] = null,
            ["rope_theta"] = 1000000.0,
            ["sliding_window"] = 131072,
            ["tie_word_embeddings"] = tied,
            ["torch_dtype"] = "bfloat16",
            ["transformers_version"] = "4.43.1",
            ["use_cache"] = true,
            ["use_sliding_window"] = false,
            ["vocab_size"] = vocab,
        };
        var path = Path.Combine(Path.GetTempPath(), $"qwen2.5-{size}-{Guid.NewGuid():N}-config.json");
        File.WriteAllText(path, json.ToJsonString());
        var config = QwenConfig.Load(path);
        File.Delete(path);
        Assert.Equal((h, layers, heads, kv, inter, vocab, tied), (config.HiddenSize, config.NumHiddenLayers, config.NumAttentionHeads, config.NumKeyValueHeads, config.IntermediateSize, config.VocabSize, config.TieWordEmbeddings));
        return config;
    }
}
