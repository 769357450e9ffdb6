using System.Runtime.InteropServices;

namespace Qwen.Inference.Model;

/// <summary>
/// The CUDA runtime calls <see cref="DeviceSeam"/> needs: read a device's memory, and copy KV cache rows between slots. The CUDA runtime
/// rather than NVML: it numbers devices as ONNX Runtime does (after CUDA_VISIBLE_DEVICES; NVML ignores it), and
/// libcudart.so.13 is what ONNX Runtime 1.32.0's CUDA provider links (shared notes/onnxruntime-1.32.0-cuda.md), so it is
/// loaded already wherever the cuda provider runs. Only on the engine loop thread (which also sizes the KV cache).
/// </summary>
internal static partial class CudaRuntime
{
    private const string Library = "libcudart.so.13";

    /// <summary>Free and total bytes of device <paramref name="deviceId"/>, as cudaMemGetInfo reports them (all processes counted).</summary>
    public static (long Free, long Total) MemoryInfo(int deviceId)
    {
        try
        {
            Check(SetDevice(deviceId), $"cudaSetDevice({deviceId})");
            Check(MemGetInfo(out var free, out var total), "cudaMemGetInfo");
            return ((long)free, (long)total);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            throw new InvalidOperationException($"cannot read the GPU's free memory to size the KV cache: {Library} (the CUDA 13 runtime) did not load ({e.Message}); put it on the library path, or set a KV cache budget (KvCacheBytes, the server's --kv-cache-memory)", e);
        }
    }

    /// <summary>Copies <paramref name="bytes"/> from one device address to another and waits until the device is done.</summary>
    public static void CopyOnDevice(int deviceId, IntPtr from, IntPtr to, long bytes)
    {
        Check(SetDevice(deviceId), $"cudaSetDevice({deviceId})"); // per thread: the loop thread may not have set it
        Check(Memcpy(to, from, (nuint)bytes, DeviceToDevice), "cudaMemcpy");
        Check(DeviceSynchronize(), "cudaDeviceSynchronize");
    }

    private const int DeviceToDevice = 3; // cudaMemcpyDeviceToDevice

    private static void Check(int error, string call)
    {
        if (error != 0)
        {
            throw new InvalidOperationException($"{call} failed: CUDA error {error} ({Marshal.PtrToStringAnsi(GetErrorString(error))})");
        }
    }

    [LibraryImport(Library, EntryPoint = "cudaSetDevice")]
    private static partial int SetDevice(int device);

    [LibraryImport(Library, EntryPoint = "cudaMemGetInfo")]
    private static partial int MemGetInfo(out nuint free, out nuint total);

    [LibraryImport(Library, EntryPoint = "cudaMemcpy")]
    private static partial int Memcpy(IntPtr dst, IntPtr src, nuint count, int kind);

    [LibraryImport(Library, EntryPoint = "cudaDeviceSynchronize")]
    private static partial int DeviceSynchronize();

    [LibraryImport(Library, EntryPoint = "cudaGetErrorString")]
    private static partial IntPtr GetErrorString(int error);
}
