using System.Text.Json;

namespace Qwen.OnnxExport.Checkpoint;

/// <summary>
/// Reads tensors from one or more safetensors files (a single model.safetensors or shards listed in
/// model.safetensors.index.json) one at a time, converting BF16/F16/F32 to float. Must be disposed.
/// </summary>
internal sealed class SafeTensorsReader : IDisposable
{
    private readonly Dictionary<string, (FileStream File, long Offset, long Length, string DType, long[] Shape)> _tensors = new(StringComparer.Ordinal);
    private readonly List<FileStream> _files = [];

    public SafeTensorsReader(string directory)
    {
        var single = Path.Combine(directory, "model.safetensors");
        var index = Path.Combine(directory, "model.safetensors.index.json");
        IEnumerable<string> files;
        if (File.Exists(index))
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(index));
            files = doc.RootElement.GetProperty("weight_map").EnumerateObject().Select(p => p.Value.GetString()!).Distinct().ToList();
        }
        else if (File.Exists(single))
        {
            files = [Path.GetFileName(single)];
        }
        else
        {
            throw new ExportException($"missing file: {single} (nor model.safetensors.index.json)");
        }
        foreach (var f in files)
        {
            Open(Path.Combine(directory, f));
        }
    }

    /// <summary>The files read, for hashing.</summary>
    public IReadOnlyList<string> FilePaths => _files.Select(f => f.Name).ToList();

    public bool Contains(string name) => _tensors.ContainsKey(name);

    /// <summary>Reads a tensor as float, checking its shape against what config.json implies.</summary>
    public float[] Read(string name, params long[] expectedShape)
    {
        if (!_tensors.TryGetValue(name, out var t))
        {
            throw new ExportException($"missing tensor '{name}' in the safetensors files");
        }
        if (!t.Shape.SequenceEqual(expectedShape))
        {
            throw new ExportException($"tensor '{name}' has shape [{string.Join(", ", t.Shape)}] but config.json implies [{string.Join(", ", expectedShape)}]");
        }
        var count = expectedShape.Aggregate(1L, (a, b) => a * b);
        var width = t.DType switch { "F32" => 4, "F16" or "BF16" => 2, _ => throw new ExportException($"tensor '{name}' has unsupported dtype {t.DType} (BF16, F16 or F32 expected)") };
        if (t.Length != count * width)
        {
            throw new ExportException($"tensor '{name}' holds {t.Length} bytes but {t.DType} [{string.Join(", ", t.Shape)}] needs {count * width}");
        }
        var raw = new byte[t.Length];
        t.File.Position = t.Offset;
        t.File.ReadExactly(raw);
        var result = new float[count];
        switch (t.DType)
        {
            case "F32":
                Buffer.BlockCopy(raw, 0, result, 0, raw.Length);
                break;
            case "F16":
                for (var i = 0; i < result.Length; i++)
                {
                    result[i] = (float)BitConverter.ToHalf(raw, 2 * i);
                }
                break;
            default:
                for (var i = 0; i < result.Length; i++)
                {
                    result[i] = BitConverter.Int32BitsToSingle(BitConverter.ToUInt16(raw, 2 * i) << 16);
                }
                break;
        }
        return result;
    }

    public void Dispose()
    {
        foreach (var f in _files)
        {
            f.Dispose();
        }
    }

    private void Open(string path)
    {
        if (!File.Exists(path))
        {
            throw new ExportException($"missing file: {path}");
        }
        var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);
        _files.Add(file);
        Span<byte> lenBytes = stackalloc byte[8];
        if (file.Length < 8 || file.Read(lenBytes) != 8)
        {
            throw new ExportException($"{path}: truncated safetensors header");
        }
        var headerLength = BitConverter.ToInt64(lenBytes);
        if (headerLength <= 0 || headerLength > 100_000_000 || 8 + headerLength > file.Length)
        {
            throw new ExportException($"{path}: corrupt safetensors header (header length {headerLength}, file length {file.Length})");
        }
        var header = new byte[headerLength];
        file.ReadExactly(header);
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
                if (begin < 0 || end < begin || dataStart + end > file.Length)
                {
                    throw new ExportException($"{path}: tensor '{p.Name}' lies outside the file (truncated?)");
                }
                var shape = p.Value.GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()).ToArray();
                _tensors[p.Name] = (file, dataStart + begin, end - begin, p.Value.GetProperty("dtype").GetString()!, shape);
            }
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw new ExportException($"{path}: corrupt safetensors header ({e.Message})");
        }
    }
}
