using System.Runtime.InteropServices;
using System.Text.Json;
using Microsoft.Win32.SafeHandles;

namespace Qwen.OnnxExport.Checkpoint;

/// <summary>
/// Reads tensors from one or more safetensors files (a single model.safetensors or shards listed in
/// model.safetensors.index.json) a few rows at a time, converting BF16/F16/F32 to float, so a tensor larger than any
/// managed array (the 72B embedding is 152,064 × 8,192) is never held whole. Must be disposed; not thread-safe.
/// </summary>
internal sealed class SafeTensorsReader : IDisposable
{
    private static readonly Dictionary<string, string> DTypeOfTorchDtype = new(StringComparer.Ordinal) { ["bfloat16"] = "BF16", ["float16"] = "F16", ["float32"] = "F32" };

    private readonly Dictionary<string, Entry> _tensors = new(StringComparer.Ordinal);
    private readonly List<(string Path, SafeFileHandle Handle)> _files = [];
    private readonly string? _torchDtype;
    private byte[] _raw = [];

    /// <summary>Opens the checkpoint in <paramref name="directory"/>; <paramref name="torchDtype"/> is config.json's torch_dtype, which every tensor must match (null: any supported dtype).</summary>
    public SafeTensorsReader(string directory, string? torchDtype)
    {
        _torchDtype = torchDtype;
        var single = Path.Combine(directory, "model.safetensors");
        var index = Path.Combine(directory, "model.safetensors.index.json");
        try
        {
            if (File.Exists(index))
            {
                var weightMap = ReadIndex(index);
                foreach (var file in weightMap.Values.Distinct(StringComparer.Ordinal))
                {
                    Open(Path.Combine(directory, file));
                }
                foreach (var (tensor, file) in weightMap)
                {
                    if (!_tensors.TryGetValue(tensor, out var e) || Path.GetFileName(e.Path) != file)
                    {
                        throw new ExportException($"{index}: weight_map puts tensor '{tensor}' in {file}, but that file does not hold it");
                    }
                }
            }
            else if (File.Exists(single))
            {
                Open(single);
            }
            else
            {
                throw new ExportException($"missing file: {single} (nor model.safetensors.index.json)");
            }
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>The files read, in the order they were opened (for hashing).</summary>
    public IReadOnlyList<string> FilePaths => _files.Select(f => f.Path).ToList();

    /// <summary>Whether the checkpoint holds a tensor of this name.</summary>
    public bool Contains(string name) => _tensors.ContainsKey(name);

    /// <summary>Checks that a tensor exists with the dtype config.json states and the shape config.json implies.</summary>
    public void Check(string name, params long[] expectedShape)
    {
        if (!_tensors.TryGetValue(name, out var t))
        {
            throw new ExportException($"missing tensor '{name}' in the safetensors files");
        }
        var width = Width(t.DType);
        if (width == 0)
        {
            throw new ExportException($"{t.Path}: tensor '{name}' has unsupported dtype {t.DType} (BF16, F16 or F32 expected)");
        }
        if (_torchDtype is not null && DTypeOfTorchDtype.TryGetValue(_torchDtype, out var expected) && t.DType != expected)
        {
            throw new ExportException($"{t.Path}: tensor '{name}' has dtype {t.DType} but config.json torch_dtype is {_torchDtype} ({expected})");
        }
        if (!t.Shape.SequenceEqual(expectedShape))
        {
            throw new ExportException($"tensor '{name}' has shape [{string.Join(", ", t.Shape)}] but config.json implies [{string.Join(", ", expectedShape)}]");
        }
        var count = expectedShape.Aggregate(1L, (a, b) => a * b);
        if (t.Length != count * width)
        {
            throw new ExportException($"{t.Path}: tensor '{name}' holds {t.Length} bytes but {t.DType} [{string.Join(", ", t.Shape)}] needs {count * width}");
        }
    }

    /// <summary>
    /// Reads rows [<paramref name="firstRow"/>, +<paramref name="rowCount"/>) of a checked tensor as float into
    /// <paramref name="destination"/> (a 1-D tensor is one row); the destination's length is rows × row length.
    /// </summary>
    public void ReadRows(string name, long firstRow, int rowCount, Span<float> destination)
    {
        var t = _tensors[name];
        var rowLength = t.Shape.Length == 1 ? t.Shape[0] : t.Shape.Skip(1).Aggregate(1L, (a, b) => a * b);
        var rows = t.Shape.Length == 1 ? 1 : t.Shape[0];
        if (firstRow < 0 || rowCount < 0 || firstRow + rowCount > rows || destination.Length != rowCount * rowLength)
        {
            throw new ArgumentOutOfRangeException(nameof(firstRow), $"rows [{firstRow}, {firstRow + rowCount}) of '{name}' ({rows} rows of {rowLength}) into {destination.Length} floats");
        }
        var width = Width(t.DType);
        var offset = t.Offset + (firstRow * rowLength * width);
        if (t.DType == "F32")
        {
            ReadExactly(t, MemoryMarshal.AsBytes(destination), offset);
            return;
        }
        var bytes = destination.Length * 2;
        if (_raw.Length < bytes)
        {
            _raw = new byte[bytes];
        }
        var raw = _raw.AsSpan(0, bytes);
        ReadExactly(t, raw, offset);
        if (t.DType == "F16")
        {
            var half = MemoryMarshal.Cast<byte, Half>(raw);
            for (var i = 0; i < half.Length; i++)
            {
                destination[i] = (float)half[i];
            }
        }
        else
        {
            // BF16 is the upper half of a float32.
            var bits = MemoryMarshal.Cast<byte, ushort>(raw);
            for (var i = 0; i < bits.Length; i++)
            {
                destination[i] = BitConverter.Int32BitsToSingle(bits[i] << 16);
            }
        }
    }

    /// <summary>Reads a whole small tensor (a norm weight or a bias).</summary>
    public float[] ReadAll(string name, params long[] expectedShape)
    {
        Check(name, expectedShape);
        var count = expectedShape.Aggregate(1L, (a, b) => a * b);
        var result = new float[count];
        ReadRows(name, 0, expectedShape.Length == 1 ? 1 : (int)expectedShape[0], result);
        return result;
    }

    /// <summary>Closes the files.</summary>
    public void Dispose()
    {
        foreach (var (_, handle) in _files)
        {
            handle.Dispose();
        }
        _files.Clear();
    }

    private static int Width(string dtype) => dtype switch { "F32" => 4, "F16" or "BF16" => 2, _ => 0 };

    private static void ReadExactly(Entry t, Span<byte> buffer, long offset)
    {
        while (buffer.Length > 0)
        {
            var n = RandomAccess.Read(t.Handle, buffer, offset);
            if (n == 0)
            {
                throw new ExportException($"{t.Path}: unexpected end of file at byte {offset} (truncated?)");
            }
            buffer = buffer[n..];
            offset += n;
        }
    }

    /// <summary>model.safetensors.index.json's weight_map: tensor name → shard file name.</summary>
    private static Dictionary<string, string> ReadIndex(string index)
    {
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(index));
            if (doc.RootElement.ValueKind != JsonValueKind.Object || !doc.RootElement.TryGetProperty("weight_map", out var map) || map.ValueKind != JsonValueKind.Object)
            {
                throw new ExportException($"{index}: missing 'weight_map' object (tensor name -> shard file)");
            }
            var result = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var p in map.EnumerateObject())
            {
                if (p.Value.ValueKind != JsonValueKind.String || p.Value.GetString() is not { Length: > 0 } file || Path.GetFileName(file) != file)
                {
                    throw new ExportException($"{index}: weight_map['{p.Name}'] must be a file name in the same directory (given {p.Value.GetRawText()})");
                }
                result[p.Name] = file;
            }
            if (result.Count == 0)
            {
                throw new ExportException($"{index}: weight_map is empty");
            }
            return result;
        }
        catch (JsonException e)
        {
            throw new ExportException($"{index}: invalid JSON ({e.Message})");
        }
    }

    private void Open(string path)
    {
        if (!File.Exists(path))
        {
            throw new ExportException($"missing file: {path}");
        }
        var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        _files.Add((path, handle));
        var fileLength = RandomAccess.GetLength(handle);
        Span<byte> lenBytes = stackalloc byte[8];
        if (fileLength < 8 || RandomAccess.Read(handle, lenBytes, 0) != 8)
        {
            throw new ExportException($"{path}: truncated safetensors header");
        }
        var headerLength = BitConverter.ToInt64(lenBytes);
        if (headerLength <= 0 || headerLength > 100_000_000 || 8 + headerLength > fileLength)
        {
            throw new ExportException($"{path}: corrupt safetensors header (header length {headerLength}, file length {fileLength})");
        }
        var header = new byte[headerLength];
        var entry = new Entry(path, handle, 0, 0, "", []);
        ReadExactly(entry, header, 8);
        var dataStart = 8 + headerLength;
        try
        {
            using var doc = JsonDocument.Parse(header);
            foreach (var p in doc.RootElement.EnumerateObject())
            {
                if (p.Name == "__metadata__")
                {
                    continue;
                }
                var offsets = p.Value.GetProperty("data_offsets");
                var begin = offsets[0].GetInt64();
                var end = offsets[1].GetInt64();
                if (begin < 0 || end < begin || dataStart + end > fileLength)
                {
                    throw new ExportException($"{path}: tensor '{p.Name}' lies outside the file (truncated?)");
                }
                var shape = p.Value.GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()).ToArray();
                if (shape.Any(d => d < 0))
                {
                    throw new ExportException($"{path}: tensor '{p.Name}' has a negative dimension");
                }
                var dtype = p.Value.GetProperty("dtype").GetString() ?? throw new ExportException($"{path}: tensor '{p.Name}' has no dtype");
                if (!_tensors.TryAdd(p.Name, entry with { Offset = dataStart + begin, Length = end - begin, DType = dtype, Shape = shape }))
                {
                    throw new ExportException($"{path}: tensor '{p.Name}' appears in more than one safetensors file");
                }
            }
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException or IndexOutOfRangeException or ArgumentException)
        {
            throw new ExportException($"{path}: corrupt safetensors header ({e.Message.ReplaceLineEndings(" ")})");
        }
    }

    private sealed record Entry(string Path, SafeFileHandle Handle, long Offset, long Length, string DType, long[] Shape);
}
