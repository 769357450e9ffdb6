using System.Diagnostics;
using Microsoft.Win32.SafeHandles;

namespace Qwen.OnnxExport.Onnx;

/// <summary>
/// Writes one initializer's bytes into its reserved range of the external data file, at any offset inside the range
/// (a transposed weight is written as strided segments, a plain one front to back), so no tensor is ever held whole.
/// Valid only inside the producer callback it is handed to.
/// </summary>
internal sealed class TensorWriter(SafeFileHandle file, long start, long length, Action<long>? written)
{
    // A transposed weight is millions of short segments (7B's down_proj: about 95,000 per layer): progress is told
    // in steps of this many bytes, not per segment.
    private const long ReportStep = 1 << 20;

    private long _written;
    private long _unreported;

    /// <summary>Writes <paramref name="bytes"/> starting at byte <paramref name="offset"/> of the tensor.</summary>
    public void Write(long offset, ReadOnlySpan<byte> bytes)
    {
        if (offset < 0 || offset + bytes.Length > length)
        {
            throw new ArgumentOutOfRangeException(nameof(offset), $"write of {bytes.Length} bytes at {offset} lies outside the tensor's {length} bytes");
        }
        RandomAccess.Write(file, bytes, start + offset);
        _written += bytes.Length;
        _unreported += bytes.Length;
        if (_unreported >= ReportStep)
        {
            Report();
        }
    }

    /// <summary>Checks that the producer wrote as many bytes as the tensor holds (each byte once).</summary>
    public void Complete()
    {
        Debug.Assert(_written <= length, "a byte range was written twice");
        if (_written != length)
        {
            throw new InvalidOperationException($"tensor producer wrote {_written} of {length} bytes");
        }
        Report();
    }

    private void Report()
    {
        if (_unreported > 0)
        {
            written?.Invoke(_unreported);
            _unreported = 0;
        }
    }
}
