using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Qwen.OnnxExport.Onnx;

/// <summary>
/// Writes one initializer's bytes into its reserved range of the external data file, at any offset inside the range
/// (a transposed weight is written as strided segments, a plain one front to back), so no tensor is ever held whole.
/// Valid only inside the producer callback it is handed to.
/// </summary>
internal sealed class TensorWriter(SafeFileHandle file, long start, long length, Action<long>? written)
{
    private long _written;

    /// <summary>Byte length of the tensor.</summary>
    public long Length => length;

    /// <summary>Writes <paramref name="values"/> starting at element <paramref name="elementOffset"/> of the tensor.</summary>
    public void Write<T>(long elementOffset, ReadOnlySpan<T> values)
        where T : unmanaged
    {
        var bytes = MemoryMarshal.AsBytes(values);
        var offset = elementOffset * Unsafe.SizeOf<T>();
        if (offset < 0 || offset + bytes.Length > length)
        {
            throw new ArgumentOutOfRangeException(nameof(elementOffset), $"write of {bytes.Length} bytes at {offset} lies outside the tensor's {length} bytes");
        }
        RandomAccess.Write(file, bytes, start + offset);
        _written += bytes.Length;
        written?.Invoke(bytes.Length);
    }

    /// <summary>Checks that the producer wrote as many bytes as the tensor holds (each byte once).</summary>
    public void Complete()
    {
        Debug.Assert(_written <= length, "a byte range was written twice");
        if (_written != length)
        {
            throw new InvalidOperationException($"tensor producer wrote {_written} of {length} bytes");
        }
    }
}
