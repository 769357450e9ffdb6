using System.Runtime.InteropServices;
using Qwen.Bench.Llama;
using Qwen.OnnxExport;

namespace Qwen.Bench.Tests.Llama;

/// <summary>
/// The tiny preset written as GGUF and read back by a reader written from the spec: the header, llama.cpp's qwen2
/// metadata and vocabulary, the tensor names and shapes, aligned offsets that tile the file, and tensors whose bytes
/// equal the checkpoint's values (f32) or their q4_0 by the format's definition.
/// </summary>
public sealed class QwenGgufTests : IDisposable
{
    // The tiny preset: hidden 64, 2 layers, 4 heads of 16, 2 KV heads, MLP 192, the real 151,936-row vocabulary, tied.
    private const int Hidden = 64;
    private const int Layers = 2;
    private const int Intermediate = 192;
    private const int KvWidth = 32;
    private const int Vocab = 151_936;

    private readonly string _dir = Directory.CreateTempSubdirectory("qwen-gguf-").FullName;
    private readonly string _source = Path.Combine(RandomModelCache.GetOrCreate("tiny", "fp32", 1234), "source");

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Write_F32_HeaderMetadataAndTokenizerAreLlamaCppsQwen2()
    {
        var file = Write(GgufPrecision.F32);
        var m = file.Metadata;

        Assert.Equal(3u, file.Version);
        Assert.Equal("qwen2", m["general.architecture"]);
        Assert.Equal(0u, m["general.file_type"]);
        Assert.Equal((uint)Hidden, m["qwen2.embedding_length"]);
        Assert.Equal((uint)Layers, m["qwen2.block_count"]);
        Assert.Equal((uint)Intermediate, m["qwen2.feed_forward_length"]);
        Assert.Equal(4u, m["qwen2.attention.head_count"]);
        Assert.Equal(2u, m["qwen2.attention.head_count_kv"]);
        Assert.Equal(32768u, m["qwen2.context_length"]);
        Assert.Equal(1_000_000f, m["qwen2.rope.freq_base"]);
        Assert.Equal(1e-6f, m["qwen2.attention.layer_norm_rms_epsilon"]);
        Assert.Equal("gpt2", m["tokenizer.ggml.model"]);
        Assert.Equal("qwen2", m["tokenizer.ggml.pre"]);
        var tokens = (List<object>)m["tokenizer.ggml.tokens"];
        var types = (List<object>)m["tokenizer.ggml.token_type"];
        Assert.Equal(Vocab, tokens.Count);
        Assert.Equal(Vocab, types.Count);
        Assert.Equal(("!", 1), ((string)tokens[0], (int)types[0]));
        Assert.Equal(("Ġ", 1), ((string)tokens[220], (int)types[220])); // the byte-level BPE text, as vocab.json spells it
        Assert.Equal(("<|im_end|>", 3), ((string)tokens[151645], (int)types[151645])); // special: control
        Assert.Equal(("<tool_call>", 4), ((string)tokens[151657], (int)types[151657])); // not special: user-defined
        Assert.Equal(("[PAD151935]", 5), ((string)tokens[151935], (int)types[151935])); // beyond the tokenizer: unused
        var merges = (List<object>)m["tokenizer.ggml.merges"];
        var lines = File.ReadAllLines(Path.Combine(_source, "merges.txt")).Skip(1).Where(l => l.Length > 0).ToList();
        Assert.Equal(lines.Count, merges.Count);
        Assert.Equal("Ġ Ġ", merges[0]);
        Assert.Equal(151645u, m["tokenizer.ggml.eos_token_id"]);
        Assert.Equal(151643u, m["tokenizer.ggml.bos_token_id"]);
        Assert.Equal(151643u, m["tokenizer.ggml.padding_token_id"]);
        Assert.Equal(false, m["tokenizer.ggml.add_bos_token"]);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Write_TensorsHaveLlamaCppNamesShapesAndAlignedOffsetsThatTileTheFile(bool q)
    {
        var file = Write(q ? GgufPrecision.Q4_0 : GgufPrecision.F32);

        var expected = new List<(string Name, long[] Dims, uint Type)> { ("token_embd.weight", [Hidden, Vocab], 0) };
        for (var l = 0; l < Layers; l++)
        {
            var matrix = q ? 2u : 0u;
            expected.AddRange(
            [
                ($"blk.{l}.attn_norm.weight", [Hidden], 0),
                ($"blk.{l}.attn_q.weight", [Hidden, Hidden], matrix), ($"blk.{l}.attn_q.bias", [Hidden], 0),
                ($"blk.{l}.attn_k.weight", [Hidden, KvWidth], matrix), ($"blk.{l}.attn_k.bias", [KvWidth], 0),
                ($"blk.{l}.attn_v.weight", [Hidden, KvWidth], matrix), ($"blk.{l}.attn_v.bias", [KvWidth], 0),
                ($"blk.{l}.attn_output.weight", [Hidden, Hidden], matrix),
                ($"blk.{l}.ffn_norm.weight", [Hidden], 0),
                ($"blk.{l}.ffn_gate.weight", [Hidden, Intermediate], matrix),
                ($"blk.{l}.ffn_up.weight", [Hidden, Intermediate], matrix),
                ($"blk.{l}.ffn_down.weight", [Intermediate, Hidden], matrix),
            ]);
        }
        expected.Add(("output_norm.weight", [Hidden], 0));
        if (q)
        {
            expected.Add(("output.weight", [Hidden, Vocab], 2)); // our int4 export quantizes the tied lm_head too
        }
        Assert.Equal(expected.Select(e => $"{e.Name} [{string.Join(',', e.Dims)}] {e.Type}"), file.Tensors.Select(t => $"{t.Name} [{string.Join(',', t.Dimensions)}] {t.Type}"));

        Assert.Equal(0, file.DataStart % 32);
        long end = 0;
        foreach (var t in file.Tensors)
        {
            var count = t.Dimensions.Aggregate(1L, (a, b) => a * b);
            var size = t.Type == 2 ? count / 32 * 18 : count * 4;
            Assert.Equal(0, t.Offset % 32);
            Assert.Equal((end + 31) / 32 * 32, t.Offset); // packed in order, each at the next aligned offset
            end = t.Offset + size;
        }
        Assert.Equal(file.DataStart + ((end + 31) / 32 * 32), file.FileLength);
    }

    [Fact]
    public void Write_F32_TensorBytesAreTheCheckpointsValues()
    {
        var file = Write(GgufPrecision.F32);
        var source = Path.Combine(_source, "model.safetensors");

        foreach (var (gguf, hf) in new[] { ("blk.1.attn_k.weight", "model.layers.1.self_attn.k_proj.weight"), ("blk.0.attn_q.bias", "model.layers.0.self_attn.q_proj.bias"), ("token_embd.weight", "model.embed_tokens.weight") })
        {
            var values = SafeTensorsFile.Read(source, hf);
            Assert.Equal(MemoryMarshal.AsBytes(values.AsSpan()).ToArray(), file.Bytes(gguf, values.Length * 4L));
        }
    }

    [Fact]
    public void Write_Q4_0_MatricesAreTheReferenceQuantizationOfTheCheckpoint()
    {
        var file = Write(GgufPrecision.Q4_0);
        var source = Path.Combine(_source, "model.safetensors");

        var down = SafeTensorsFile.Read(source, "model.layers.0.mlp.down_proj.weight");
        Assert.Equal(Q4_0Reference.Quantize(down), file.Bytes("blk.0.ffn_down.weight", down.Length / 32 * 18));
        var embedding = SafeTensorsFile.Read(source, "model.embed_tokens.weight");
        Assert.Equal(Q4_0Reference.Quantize(embedding), file.Bytes("output.weight", embedding.Length / 32 * 18));
        Assert.Equal(MemoryMarshal.AsBytes(embedding.AsSpan()).ToArray(), file.Bytes("token_embd.weight", embedding.Length * 4L));
        Assert.Equal(2u, file.Metadata["general.file_type"]);
    }

    private GgufFile Write(GgufPrecision precision)
    {
        var path = Path.Combine(_dir, $"tiny-{precision}.gguf");
        QwenGguf.Write(_source, precision, "tiny", path);
        return GgufFile.Read(path);
    }
}
