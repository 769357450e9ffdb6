using System.Globalization;
using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntime;
using Qwen.Inference.Engine;
using Qwen.Inference.KvCache;

namespace Qwen.Inference.Model;

/// <summary>
/// The one place where CPU and CUDA differ: which execution provider the session uses, how big the KV cache is (on CUDA
/// sized from the device's free memory), where it lives (64-byte-aligned host memory, or device memory from the session's
/// CUDA allocator), where the decode logits the candidates graph reads live (the same memory) and when host inputs are
/// read. Inputs, prefill logits and the candidates graph's outputs stay in host memory on both. On CUDA, ONNX Runtime
/// copies a host input to the device when it is
/// bound (<see cref="BindInput"/>), not at Run; on CPU it reads the bound memory at Run. With
/// <see cref="EngineOptions.CopyInputsAtBind"/> the CPU copies at bind time too, so CPU tests see what a device sees.
/// Engine loop thread only. Must be disposed after the OrtValues over its memory and the bindings it bound.
/// </summary>
internal sealed class DeviceSeam : IDisposable
{
    private readonly List<IntPtr> _host = [];
    private readonly List<OrtMemoryAllocation> _device = [];
    private readonly Dictionary<(OrtIoBinding Binding, string Name), OrtValue> _copies = [];
    private OrtAllocator? _allocator;

    public DeviceSeam(EngineOptions options)
    {
        IsCuda = options.ExecutionProvider.Equals("cuda", StringComparison.OrdinalIgnoreCase);
        if (!IsCuda && !options.ExecutionProvider.Equals("cpu", StringComparison.OrdinalIgnoreCase))
        {
            throw new ArgumentException($"execution provider must be 'cpu' or 'cuda' (given '{options.ExecutionProvider}')", nameof(options));
        }
        DeviceId = options.CudaDeviceId;
        HugePages = options.HugePages && !IsCuda;
        CopyInputsAtBind = options.CopyInputsAtBind && !IsCuda; // CUDA copies at bind by itself
        KvMemory = IsCuda ? new OrtMemoryInfo(OrtMemoryInfo.allocatorCUDA, OrtAllocatorType.DeviceAllocator, DeviceId, OrtMemType.Default) : OrtMemoryInfo.DefaultInstance;
    }

    public bool IsCuda { get; }

    public int DeviceId { get; }

    /// <summary>Whether host memory of the model (weights, KV cache) is backed by huge pages: on the CPU unless turned off (<see cref="Model.HugePages"/>).</summary>
    public bool HugePages { get; }

    /// <summary>Whether host inputs are copied when bound (as on a device) rather than read at Run.</summary>
    public bool CopyInputsAtBind { get; }

    /// <summary>Where the KV cache lives, and the decode logits the candidates graph reads (<see cref="AllocateLogits"/>).</summary>
    public OrtMemoryInfo KvMemory { get; }

    /// <summary>
    /// Whether the decode logits may be read straight from host memory after a Run: on the CPU, unless copy-at-bind mode
    /// makes it behave as a device. Otherwise a full row is read through the candidates graph, as it must be on CUDA, so
    /// the CPU tests in that mode run the device's path.
    /// </summary>
    public bool LogitsOnHost => !IsCuda && !CopyInputsAtBind;

    /// <summary>
    /// Whether decode rows are sampled from the candidates graph unless <see cref="EngineOptions.SampleFromCandidates"/>
    /// says otherwise: on CUDA, where it saves copying B × vocab logits to the host every step; not on the CPU, where the
    /// logits are in host memory already (measured in src/Qwen.Inference/README.md).
    /// </summary>
    public bool CandidatesByDefault => IsCuda;

    /// <summary>Adds the execution provider to the session options.</summary>
    public void Configure(SessionOptions session)
    {
        if (!IsCuda)
        {
            return;
        }
        try
        {
            using var cuda = new OrtCUDAProviderOptions();
            // kSameAsRequested: the arena grows by what is asked for. Its default (kNextPowerOfTwo) rounds a new region up to
            // a power of two, so the KV buffers allocated from it could take up to twice the budget the cache was sized to.
            cuda.UpdateOptions(new Dictionary<string, string>
            {
                ["device_id"] = DeviceId.ToString(CultureInfo.InvariantCulture),
                ["arena_extend_strategy"] = "kSameAsRequested",
            });
            session.AppendExecutionProvider_CUDA(cuda);
        }
        catch (Exception e) when (e is OnnxRuntimeException or EntryPointNotFoundException or DllNotFoundException)
        {
            throw new InvalidOperationException($"execution provider 'cuda' is not available in this build ({e.Message}); build with -p:OnnxRuntimePackage=Microsoft.ML.OnnxRuntime.Gpu.Linux (the CUDA image does) or set the execution provider to cpu", e);
        }
    }

    /// <summary>
    /// The KV cache layout. On CUDA without KvCacheBytes it is sized from the device memory free now
    /// (<see cref="KvCacheLayout.FromDeviceMemory"/>), so call it once the session is created and the weights are on the
    /// device; otherwise <see cref="KvCacheLayout.Resolve"/> (the CPU ignores GpuMemoryUtilization).
    /// </summary>
    public KvCacheLayout ResolveKvCache(ModelManifest manifest, EngineOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!IsCuda || options.KvCacheBytes is not null)
        {
            return KvCacheLayout.Resolve(manifest, options);
        }
        var (free, total) = CudaRuntime.MemoryInfo(DeviceId);
        return KvCacheLayout.FromDeviceMemory(manifest, options, free, total);
    }

    /// <summary>
    /// Binds a host input. What <paramref name="binding"/> will feed to the next Run is the content of
    /// <paramref name="value"/> now: a device copies it at this call, so a caller that changes the buffer afterwards must bind
    /// it again. In copy-at-bind mode the CPU does the same, into memory owned here until the input is bound again or
    /// <see cref="Forget"/> is called.
    /// </summary>
    public void BindInput(OrtIoBinding binding, string name, OrtValue value)
    {
        if (!CopyInputsAtBind)
        {
            binding.BindInput(name, value);
            return;
        }
        var shape = value.GetTensorTypeAndShape();
        var copy = OrtValue.CreateAllocatedTensorValue(OrtAllocator.DefaultInstance, shape.ElementDataType, shape.Shape);
        value.GetTensorMutableRawData().CopyTo(copy.GetTensorMutableRawData());
        binding.BindInput(name, copy);
        if (_copies.Remove((binding, name), out var old))
        {
            old.Dispose();
        }
        _copies[(binding, name)] = copy;
    }

    /// <summary>Frees the copies made for <paramref name="binding"/>; call before disposing it.</summary>
    public void Forget(OrtIoBinding binding)
    {
        foreach (var key in _copies.Keys.Where(k => k.Binding == binding).ToList())
        {
            _copies.Remove(key, out var copy);
            copy!.Dispose();
        }
    }

    /// <summary>Allocates a zeroed KV buffer of <paramref name="bytes"/> bytes for the lifetime of this seam.</summary>
    public unsafe IntPtr AllocateKv(long bytes, InferenceSession session)
    {
        if (IsCuda)
        {
            CheckDeviceAllocation(bytes);
            _allocator ??= new OrtAllocator(session, KvMemory);
            var allocation = _allocator.Allocate((uint)bytes);
            _device.Add(allocation);
            return allocation.DangerousGetHandle(); // the SafeHandle wraps the device pointer itself
        }
        // With huge pages: aligned to one and advised before it is first touched, so the clear faults it in as huge pages.
        var p = NativeMemory.AlignedAlloc((nuint)bytes, HugePages ? (nuint)Model.HugePages.Size : 64);
        if (HugePages)
        {
            Model.HugePages.Advise((nint)p, bytes & ~(Model.HugePages.Size - 1), collapse: false);
        }
        NativeMemory.Clear(p, (nuint)bytes);
        _host.Add((IntPtr)p);
        return (IntPtr)p;
    }

    /// <summary>What the address space holds before the session is created: what <see cref="CollapseLoaded"/> leaves alone.</summary>
    public (long Start, long End)[] HostMemoryBefore() => HugePages ? Model.HugePages.Snapshot() : [];

    /// <summary>
    /// Collapses into huge pages the host memory the load mapped since <paramref name="before"/> (ONNX Runtime's weights,
    /// the KV cache) and returns the bytes held in huge pages; 0 on CUDA, where the weights live on the device, or when off.
    /// </summary>
    public long CollapseLoaded((long Start, long End)[] before) => HugePages ? Model.HugePages.CollapseNew(before) : 0;

    /// <summary>
    /// Copies <paramref name="bytes"/> of KV cache memory (<see cref="AllocateKv"/>) between slots, on the engine loop thread
    /// between Runs. On the CPU a memory copy. On CUDA a device-to-device cudaMemcpy, which returns before the copy is done,
    /// then a device synchronize: ONNX Runtime's next Run reads the cache on a stream of its own, which the copy on the
    /// default stream does not order against.
    /// </summary>
    public unsafe void CopyKv(IntPtr from, IntPtr to, long bytes)
    {
        if (bytes == 0)
        {
            return;
        }
        if (IsCuda)
        {
            CudaRuntime.CopyOnDevice(DeviceId, from, to, bytes);
            return;
        }
        Buffer.MemoryCopy((void*)from, (void*)to, bytes, bytes);
    }

    /// <summary>
    /// Allocates the decode logits [max_num_seqs, vocab] float32 where the candidates graph reads them, in
    /// <see cref="KvMemory"/>: device memory on CUDA (only the candidates and the rows asked for cross to the host), host
    /// memory on the CPU. Lives as long as this seam.
    /// </summary>
    public IntPtr AllocateLogits(long bytes, InferenceSession session) => AllocateKv(bytes, session);

    /// <summary>
    /// ONNX Runtime's C# allocator takes a 32-bit size (<c>OrtAllocator.Allocate(uint)</c> is still its only allocating
    /// method in 1.32.0, although the C API's <c>AllocatorAlloc</c> under it takes a <c>size_t</c>):
    /// a larger per-layer buffer would silently wrap, so it is refused with the numbers needed to fix the settings.
    /// </summary>
    internal static void CheckDeviceAllocation(long bytes)
    {
        if (bytes is < 0 or > uint.MaxValue)
        {
            throw new NotSupportedException($"one layer's KV buffer on CUDA would take {bytes} bytes; ONNX Runtime's allocator takes at most {uint.MaxValue} bytes per buffer: lower MaxNumSeqs (or KvCacheBytes) or MaxModelLen");
        }
    }

    public unsafe void Dispose()
    {
        foreach (var copy in _copies.Values)
        {
            copy.Dispose();
        }
        _copies.Clear();
        foreach (var p in _host)
        {
            NativeMemory.AlignedFree((void*)p);
        }
        _host.Clear();
        foreach (var a in _device)
        {
            a.Dispose();
        }
        _device.Clear();
        _allocator?.Dispose();
        if (IsCuda)
        {
            KvMemory.Dispose();
        }
    }
}
