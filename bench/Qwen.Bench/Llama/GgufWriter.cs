using System.Text;

namespace Qwen.Bench.Llama;

/// <summary>
/// Writes a GGUF v3 file (ggml docs/gguf.md): the header ("GGUF", version 3, tensor count, metadata count as uint64),
/// the metadata key-value pairs, the tensor infos (name, dimension count, dimensions, ggml type, offset into the data),
/// padding to <see cref="Alignment"/>, then each tensor's bytes at its offset, every offset a multiple of the alignment.
/// All integers little-endian; strings are a uint64 byte length and UTF-8 bytes without a terminator. Collect the
/// metadata and tensors, then call <see cref="Write"/> once; tensors are streamed, never held whole.
/// </summary>
internal sealed class GgufWriter
{
    /// <summary>The default alignment of the spec (general.alignment absent).</summary>
    public const int Alignment = 32;

    private readonly List<(string Key, GgufValueType Type, Action<BinaryWriter> Write)> _metadata = [];
    private readonly List<GgufTensor> _tensors = [];

    /// <summary>The tensors added so far, in file order.</summary>
    public IReadOnlyList<GgufTensor> Tensors => _tensors;

    /// <summary>A uint32 value (hyperparameters, token ids, the file type).</summary>
    public void UInt32(string key, uint value) => Add(key, GgufValueType.UInt32, w => w.Write(value));

    /// <summary>A float32 value (RoPE base, RMSNorm epsilon).</summary>
    public void Float32(string key, float value) => Add(key, GgufValueType.Float32, w => w.Write(value));

    /// <summary>A bool, one byte.</summary>
    public void Bool(string key, bool value) => Add(key, GgufValueType.Bool, w => w.Write((byte)(value ? 1 : 0)));

    /// <summary>A UTF-8 string.</summary>
    public void String(string key, string value) => Add(key, GgufValueType.String, w => WriteString(w, value));

    /// <summary>An array of strings (the vocabulary, the merges).</summary>
    public void Strings(string key, IReadOnlyList<string> values) => Add(key, GgufValueType.Array, w =>
    {
        w.Write((uint)GgufValueType.String);
        w.Write((ulong)values.Count);
        foreach (var v in values)
        {
            WriteString(w, v);
        }
    });

    /// <summary>An array of int32 (the token types).</summary>
    public void Int32s(string key, IReadOnlyList<int> values) => Add(key, GgufValueType.Array, w =>
    {
        w.Write((uint)GgufValueType.Int32);
        w.Write((ulong)values.Count);
        foreach (var v in values)
        {
            w.Write(v);
        }
    });

    /// <summary>Adds a tensor; names must be unique.</summary>
    public void Tensor(GgufTensor tensor)
    {
        if (_tensors.Any(t => t.Name == tensor.Name))
        {
            throw new ArgumentException($"tensor '{tensor.Name}' added twice", nameof(tensor));
        }
        _tensors.Add(tensor);
    }

    /// <summary>Writes the file to <paramref name="path"/> (replacing it).</summary>
    public void Write(string path)
    {
        using var file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20);
        using var w = new BinaryWriter(file, Encoding.UTF8, leaveOpen: true);
        w.Write("GGUF"u8);
        w.Write(3u);
        w.Write((ulong)_tensors.Count);
        w.Write((ulong)_metadata.Count);
        foreach (var (key, type, write) in _metadata)
        {
            WriteString(w, key);
            w.Write((uint)type);
            write(w);
        }
        long offset = 0;
        foreach (var t in _tensors)
        {
            WriteString(w, t.Name);
            w.Write((uint)t.Dimensions.Length);
            foreach (var d in t.Dimensions)
            {
                w.Write((ulong)d);
            }
            w.Write((uint)t.Type);
            w.Write((ulong)offset);
            offset = Align(offset + t.ByteLength);
        }
        w.Flush();
        Pad(file);
        var dataStart = file.Position;
        foreach (var t in _tensors)
        {
            var start = file.Position;
            t.WriteData(file);
            if (file.Position - start != t.ByteLength)
            {
                throw new InvalidOperationException($"tensor '{t.Name}' wrote {file.Position - start} bytes, its info says {t.ByteLength}");
            }
            Pad(file);
        }
        System.Diagnostics.Debug.Assert(file.Position - dataStart == offset, "the data section ends where the offsets say");
    }

    /// <summary><paramref name="offset"/> rounded up to the alignment.</summary>
    public static long Align(long offset) => (offset + Alignment - 1) / Alignment * Alignment;

    private void Add(string key, GgufValueType type, Action<BinaryWriter> write)
    {
        if (_metadata.Any(m => m.Key == key))
        {
            throw new ArgumentException($"metadata key '{key}' added twice", nameof(key));
        }
        _metadata.Add((key, type, write));
    }

    private static void WriteString(BinaryWriter w, string value)
    {
        var bytes = Encoding.UTF8.GetBytes(value);
        w.Write((ulong)bytes.Length);
        w.Write(bytes);
    }

    private static void Pad(Stream s)
    {
        for (var n = Align(s.Position) - s.Position; n > 0; n--)
        {
            s.WriteByte(0);
        }
    }
}
