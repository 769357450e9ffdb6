using System.Text;
using System.Text.Json;

namespace Qwen.OnnxExport.Checkpoint;

/// <summary>Writes a BF16 safetensors file tensor by tensor (used by the random-weight presets).</summary>
internal static class SafeTensorsWriter
{
    private const int ChunkValues = 1 << 22; // 16 MB of float per chunk: no tensor is ever held whole

    /// <summary>Writes tensors in the given order; <paramref name="fill"/>(name, first index, destination) produces each tensor's values a chunk at a time.</summary>
    public static void Write(string path, IReadOnlyList<(string Name, long[] Shape)> tensors, Action<string, long, Span<float>> fill)
    {
        var header = new Dictionary<string, object> { ["__metadata__"] = new Dictionary<string, string> { ["format"] = "pt" } };
        long offset = 0;
        foreach (var (name, shape) in tensors)
        {
            var bytes = 2 * shape.Aggregate(1L, (a, b) => a * b);
            header[name] = new { dtype = "BF16", shape, data_offsets = new[] { offset, offset + bytes } };
            offset += bytes;
        }
        var json = JsonSerializer.Serialize(header);
        // The header is padded with spaces to a multiple of 8 bytes, as the safetensors format recommends.
        json += new string(' ', (8 - (Encoding.UTF8.GetByteCount(json) % 8)) % 8);
        using var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20);
        var headerBytes = Encoding.UTF8.GetBytes(json);
        file.Write(BitConverter.GetBytes((long)headerBytes.Length));
        file.Write(headerBytes);
        var values = new float[ChunkValues];
        var raw = new byte[ChunkValues * 2];
        foreach (var (name, shape) in tensors)
        {
            var count = shape.Aggregate(1L, (a, b) => a * b);
            for (long start = 0; start < count; start += ChunkValues)
            {
                var n = (int)Math.Min(ChunkValues, count - start);
                fill(name, start, values.AsSpan(0, n));
                for (var i = 0; i < n; i++)
                {
                    // Round to nearest even BF16.
                    var bits = BitConverter.SingleToUInt32Bits(values[i]);
                    bits += 0x7FFF + ((bits >> 16) & 1);
                    BitConverter.TryWriteBytes(raw.AsSpan(2 * i), (ushort)(bits >> 16));
                }
                file.Write(raw, 0, 2 * n);
            }
        }
    }
}
