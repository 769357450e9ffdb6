using System.Text;

namespace Qwen.Bench.Tests.Llama;

/// <summary>
/// A minimal GGUF v3 reader written from the spec (ggml docs/gguf.md) for the tests: header, metadata (scalars,
/// strings and arrays of them), tensor infos, and where the aligned data section starts.
/// </summary>
internal sealed class GgufFile
{
    public required uint Version { get; init; }

    public required Dictionary<string, object> Metadata { get; init; }

    public required List<TensorInfo> Tensors { get; init; }

    public required int Alignment { get; init; }

    /// <summary>Where the tensor data section starts (offsets are relative to it).</summary>
    public required long DataStart { get; init; }

    public required long FileLength { get; init; }

    public required string Path { get; init; }

    public sealed record TensorInfo(string Name, long[] Dimensions, uint Type, long Offset);

    public static GgufFile Read(string path)
    {
        using var stream = File.OpenRead(path);
        using var r = new BinaryReader(stream);
        Assert.Equal("GGUF"u8.ToArray(), r.ReadBytes(4));
        var version = r.ReadUInt32();
        var tensorCount = r.ReadUInt64();
        var kvCount = r.ReadUInt64();
        var metadata = new Dictionary<string, object>();
        for (ulong i = 0; i < kvCount; i++)
        {
            var key = ReadString(r);
            Assert.False(metadata.ContainsKey(key), $"duplicate key {key}");
            metadata[key] = ReadValue(r, r.ReadUInt32());
        }
        var tensors = new List<TensorInfo>();
        for (ulong i = 0; i < tensorCount; i++)
        {
            var name = ReadString(r);
            var dims = new long[r.ReadUInt32()];
            for (var d = 0; d < dims.Length; d++)
            {
                dims[d] = (long)r.ReadUInt64();
            }
            tensors.Add(new TensorInfo(name, dims, r.ReadUInt32(), (long)r.ReadUInt64()));
        }
        var alignment = metadata.TryGetValue("general.alignment", out var a) ? (int)(uint)a : 32;
        var dataStart = (stream.Position + alignment - 1) / alignment * alignment;
        return new GgufFile { Version = version, Metadata = metadata, Tensors = tensors, Alignment = alignment, DataStart = dataStart, FileLength = stream.Length, Path = path };
    }

    /// <summary>The bytes of a tensor: <paramref name="length"/> bytes at its offset in the data section.</summary>
    public byte[] Bytes(string name, long length)
    {
        var t = Tensors.Single(t => t.Name == name);
        using var stream = File.OpenRead(Path);
        stream.Position = DataStart + t.Offset;
        var bytes = new byte[length];
        stream.ReadExactly(bytes);
        return bytes;
    }

    private static string ReadString(BinaryReader r) => Encoding.UTF8.GetString(r.ReadBytes(checked((int)r.ReadUInt64())));

    private static object ReadValue(BinaryReader r, uint type) => type switch
    {
        0 => r.ReadByte(),
        1 => r.ReadSByte(),
        2 => r.ReadUInt16(),
        3 => r.ReadInt16(),
        4 => r.ReadUInt32(),
        5 => r.ReadInt32(),
        6 => r.ReadSingle(),
        7 => r.ReadByte() switch { 0 => false, 1 => true, var b => throw new InvalidDataException($"bool byte {b}") },
        8 => ReadString(r),
        9 => ReadArray(r),
        10 => r.ReadUInt64(),
        11 => r.ReadInt64(),
        12 => r.ReadDouble(),
        _ => throw new InvalidDataException($"unknown value type {type}"),
    };

    private static List<object> ReadArray(BinaryReader r)
    {
        var type = r.ReadUInt32();
        var count = r.ReadUInt64();
        var values = new List<object>();
        for (ulong i = 0; i < count; i++)
        {
            values.Add(ReadValue(r, type));
        }
        return values;
    }
}
