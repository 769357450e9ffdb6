using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Qwen.Inference.Engine;
using Qwen.Inference.KvCache;

namespace Qwen.Inference.Model;

/// <summary>
/// Runs an exported Qwen2.5 graph over a KV cache allocated once: per layer one K and one V buffer
/// [max_num_seqs, kv_heads, max_model_len, head_dim]. A prefill runs through slot s's [1, ...] view; a decode through
/// the [B, ...] view of slots [0, B). Past and present are bound to the same view, so GroupQueryAttention writes the
/// new positions in place and nothing cache-sized is ever allocated or copied per step. Views, decode bindings (one per
/// B) and input buffers are created once and reused; the step inputs are bound again before every Run, because a device
/// copies a host input when it is bound (src/Qwen.Inference/README.md, "IoBinding"). Engine loop thread only; must be disposed.
/// </summary>
public sealed unsafe class OnnxModelRunner : IModelRunner
{
    private readonly InferenceSession _session;
    private readonly ModelManifest _manifest;
    private readonly DeviceSeam _device;
    private readonly RunOptions _runOptions = new();
    private readonly OrtValue[,] _slotK, _slotV;     // [layer, slot]: [1, kv, len, hd] views
    private readonly IntPtr[] _kvBuffers;            // [2 x layer]: each layer's K then V buffer, for copies between slots
    private readonly long _slotBytes;                // one slot of one layer's K (or V) buffer
    private readonly long _positionBytes;            // one position of one head in it
    private IntPtr _swap;                            // one slot of one layer, allocated at the first swap
    private readonly OrtValue[,] _prefixK, _prefixV; // [layer, B-1]: [B, kv, len, hd] views of slots [0, B)
    private readonly OrtIoBinding?[] _decodeBindings;
    private readonly long* _ids;     // [max(max_model_len, max_num_seqs)] input ids
    private readonly int* _seqLens;  // [max_num_seqs]
    private readonly int* _total;    // scalar
    private readonly float* _logits; // [max_num_seqs, vocab]
    private readonly OrtValue _totalValue;
    private readonly OrtValue[] _decodeIds, _decodeSeqLens, _decodeLogits; // per B-1
    private readonly CandidatesSession? _candidates;
    private readonly OrtValue[] _candidateLogits; // per B-1: [B, vocab] views of the decode logits the candidates graph reads
    private readonly string _executionProvider;
    private int _candidateBatch;                  // B of the last DecodeCandidates (0: none yet)

    private OnnxModelRunner(string modelDirectory, EngineOptions options)
    {
        _manifest = ModelManifest.Load(modelDirectory);
        if (ProviderKernels.Refusal(_manifest, options.ExecutionProvider) is { } refusal)
        {
            throw new NotSupportedException(refusal); // before the session: nothing is loaded
        }
        VocabSize = _manifest.VocabSize;
        _device = new DeviceSeam(options);
        _executionProvider = options.ExecutionProvider;

        using var so = new SessionOptions
        {
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            // 0 means one per core, stated explicitly: left to itself ONNX Runtime 1.31.1 ran this 2-core VM's decode steps on
            // about one core (measured: 24-36 tok/s against 50-67 with 2 threads named, int4 0.5B, bench engine --threads).
            IntraOpNumThreads = options.ResolvedIntraOpThreads,
            InterOpNumThreads = 1,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
        };
        _device.Configure(so);
        var modelPath = Path.Combine(modelDirectory, _manifest.OnnxFile);
        var optimized = OptimizedModel.Resolve(modelPath, _manifest, options.OptimizedModelPath, options.ExecutionProvider, so);
        var before = _device.HostMemoryBefore();
        _session = new InferenceSession(optimized.LoadPath, so);
        optimized.Commit(); // only now has ONNX Runtime written the optimized file: a crash before leaves no valid stamp
        try
        {
            KvCache = _device.ResolveKvCache(_manifest, options); // after the session: on CUDA it takes what the weights left free
        }
        catch
        {
            // A budget that holds no slot is a startup error: the loaded weights go with it, not with the process.
            _session.Dispose();
            _device.Dispose();
            throw;
        }
        MaxNumSeqs = KvCache.Slots;
        MaxModelLen = KvCache.TokensPerSlot;

        var elementType = _manifest.KvCacheDtype == "float16" ? TensorElementType.Float16 : TensorElementType.Float;
        var layers = _manifest.NumLayers;
        var slotBytes = KvCache.BytesPerSlot / (2L * layers); // one slot of one layer's K (or V) buffer
        _slotBytes = slotBytes;
        _positionBytes = slotBytes / ((long)_manifest.NumKvHeads * MaxModelLen);
        _kvBuffers = new IntPtr[2 * layers];
        _slotK = new OrtValue[layers, MaxNumSeqs];
        _slotV = new OrtValue[layers, MaxNumSeqs];
        _prefixK = new OrtValue[layers, MaxNumSeqs];
        _prefixV = new OrtValue[layers, MaxNumSeqs];
        for (var l = 0; l < layers; l++)
        {
            var k = _device.AllocateKv(MaxNumSeqs * slotBytes, _session);
            var v = _device.AllocateKv(MaxNumSeqs * slotBytes, _session);
            (_kvBuffers[2 * l], _kvBuffers[(2 * l) + 1]) = (k, v);
            for (var s = 0; s < MaxNumSeqs; s++)
            {
                var offset = s * slotBytes;
                long[] one = [1, _manifest.NumKvHeads, MaxModelLen, _manifest.HeadDim];
                _slotK[l, s] = OrtValue.CreateTensorValueWithData(_device.KvMemory, elementType, one, k + (nint)offset, slotBytes);
                _slotV[l, s] = OrtValue.CreateTensorValueWithData(_device.KvMemory, elementType, one, v + (nint)offset, slotBytes);
                long[] prefix = [s + 1, _manifest.NumKvHeads, MaxModelLen, _manifest.HeadDim];
                _prefixK[l, s] = OrtValue.CreateTensorValueWithData(_device.KvMemory, elementType, prefix, k, (s + 1) * slotBytes);
                _prefixV[l, s] = OrtValue.CreateTensorValueWithData(_device.KvMemory, elementType, prefix, v, (s + 1) * slotBytes);
            }
        }

        var idsLength = Math.Max(MaxModelLen, MaxNumSeqs);
        _ids = (long*)NativeMemory.AlignedAlloc((nuint)(idsLength * sizeof(long)), 64);
        _seqLens = (int*)NativeMemory.AlignedAlloc((nuint)(MaxNumSeqs * sizeof(int)), 64);
        _total = (int*)NativeMemory.AlignedAlloc(sizeof(int), 64);
        _logits = (float*)NativeMemory.AlignedAlloc((nuint)((long)MaxNumSeqs * VocabSize * sizeof(float)), 64);
        _totalValue = OrtValue.CreateTensorValueWithData(OrtMemoryInfo.DefaultInstance, TensorElementType.Int32, [], (IntPtr)_total, sizeof(int));
        _decodeIds = new OrtValue[MaxNumSeqs];
        _decodeSeqLens = new OrtValue[MaxNumSeqs];
        _decodeLogits = new OrtValue[MaxNumSeqs];
        for (var b = 1; b <= MaxNumSeqs; b++)
        {
            _decodeIds[b - 1] = OrtValue.CreateTensorValueWithData(OrtMemoryInfo.DefaultInstance, TensorElementType.Int64, [b, 1], (IntPtr)_ids, b * sizeof(long));
            _decodeSeqLens[b - 1] = OrtValue.CreateTensorValueWithData(OrtMemoryInfo.DefaultInstance, TensorElementType.Int32, [b], (IntPtr)_seqLens, b * sizeof(int));
            _decodeLogits[b - 1] = OrtValue.CreateTensorValueWithData(OrtMemoryInfo.DefaultInstance, TensorElementType.Float, [b, VocabSize], (IntPtr)_logits, (long)b * VocabSize * sizeof(float));
        }
        _decodeBindings = new OrtIoBinding?[MaxNumSeqs];
        (_candidates, _candidateLogits) = CreateCandidates(modelDirectory, options);
        HugePageBytes = _device.CollapseLoaded(before);
    }

    /// <summary>Bytes of the loaded model's host memory (weights, KV cache) held in huge pages; 0 on CUDA or when off.</summary>
    public long HugePageBytes { get; }

    /// <inheritdoc/>
    public int VocabSize { get; }

    /// <inheritdoc/>
    public int MaxNumSeqs { get; }

    /// <inheritdoc/>
    public int MaxModelLen { get; }

    /// <summary>Bytes of the KV cache (all layers, K and V, every slot).</summary>
    public long KvCacheBytes => KvCache.TotalBytes;

    /// <summary>The KV cache as allocated: slots, tokens per slot and bytes (from MaxNumSeqs, KvCacheBytes or, on CUDA, the device's free memory).</summary>
    public KvCacheLayout KvCache { get; }

    /// <inheritdoc/>
    public int CandidateCount => _candidates?.K ?? 0;

    /// <inheritdoc/>
    public double AttentionCostPerKey => _manifest.AttentionCostPerKey;

    /// <summary>The manifest of the loaded model.</summary>
    public ModelManifest Manifest => _manifest;

    /// <summary>The manifest's precision, the KV cache as allocated, the execution provider and, on CUDA, the memory reading that sized the cache.</summary>
    public ModelInfo Info => new(VocabSize, MaxModelLen, MaxNumSeqs, _manifest.Precision, KvCache.TotalBytes, _executionProvider, KvCache.Device, CandidateCount) { HugePageBytes = HugePageBytes };

    /// <summary>Loads the model in <paramref name="modelDirectory"/> and allocates its KV cache (sized by <see cref="KvCacheLayout.Resolve"/>, or on CUDA <see cref="KvCacheLayout.FromDeviceMemory"/>).</summary>
    public static OnnxModelRunner Create(string modelDirectory, EngineOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxModelLen, 2, nameof(options.MaxModelLen));
        return new OnnxModelRunner(modelDirectory, options);
    }

    /// <inheritdoc/>
    public void Prefill(int slot, ReadOnlySpan<int> tokens, int pastLength, Span<float> logits)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)slot, (uint)MaxNumSeqs, nameof(slot));
        if (tokens.Length == 0 || pastLength + tokens.Length > MaxModelLen)
        {
            throw new ArgumentOutOfRangeException(nameof(tokens), $"prefill of {tokens.Length} tokens after {pastLength} does not fit {MaxModelLen}");
        }
        for (var i = 0; i < tokens.Length; i++)
        {
            _ids[i] = tokens[i];
        }
        _seqLens[0] = pastLength + tokens.Length - 1;
        *_total = pastLength + tokens.Length;
        using var ids = OrtValue.CreateTensorValueWithData(OrtMemoryInfo.DefaultInstance, TensorElementType.Int64, [1, tokens.Length], (IntPtr)_ids, tokens.Length * sizeof(long));
        using var binding = _session.CreateIoBinding();
        BindCache(binding, _decodeLogits[0], l => (_slotK[l, slot], _slotV[l, slot]));
        BindStepInputs(binding, ids, _decodeSeqLens[0]);
        try
        {
            _session.RunWithBinding(_runOptions, binding);
        }
        finally
        {
            _device.Forget(binding);
        }
        new ReadOnlySpan<float>(_logits, VocabSize).CopyTo(logits);
    }

    /// <inheritdoc/>
    public void CopyKv(int from, int to, int length)
    {
        CheckCopy(from, to, length);
        foreach (var buffer in _kvBuffers)
        {
            CopyPositions(buffer + (nint)(from * _slotBytes), buffer + (nint)(to * _slotBytes), length);
        }
    }

    /// <inheritdoc/>
    public void SwapKv(int a, int b, int length)
    {
        CheckCopy(a, b, length);
        _swap = _swap == IntPtr.Zero ? _device.AllocateKv(_slotBytes, _session) : _swap;
        foreach (var buffer in _kvBuffers)
        {
            var (pa, pb) = (buffer + (nint)(a * _slotBytes), buffer + (nint)(b * _slotBytes));
            CopyPositions(pa, _swap, length);
            CopyPositions(pb, pa, length);
            CopyPositions(_swap, pb, length);
        }
    }

    /// <inheritdoc/>
    public void Decode(ReadOnlySpan<int> tokens, ReadOnlySpan<int> pastLengths, Span<float> logits)
    {
        var b = RunDecode(tokens, pastLengths, _decodeLogits);
        new ReadOnlySpan<float>(_logits, b * VocabSize).CopyTo(logits);
    }

    /// <inheritdoc/>
    public void DecodeCandidates(ReadOnlySpan<int> tokens, ReadOnlySpan<int> pastLengths, ReadOnlySpan<int> fullRows, Span<float> topValues, Span<int> topIds, Span<float> logSumExp, Span<float> fullLogits)
    {
        var candidates = _candidates ?? throw new NotSupportedException("this runner has no candidates (CandidateCount is 0)");
        CheckRows(fullRows, tokens.Length);
        _candidateBatch = 0;
        var b = RunDecode(tokens, pastLengths, _candidateLogits);
        candidates.Run(_candidateLogits[b - 1], b, fullRows, topValues, topIds, logSumExp, fullLogits);
        _candidateBatch = b;
    }

    /// <inheritdoc/>
    public void ReadLogits(ReadOnlySpan<int> rows, Span<float> logits)
    {
        var b = _candidateBatch;
        if (_candidates is null || b == 0)
        {
            throw new InvalidOperationException("ReadLogits reads rows of the last DecodeCandidates, and there was none");
        }
        CheckRows(rows, b);
        if (!_device.LogitsOnHost)
        {
            // The logits are still where the decoder wrote them (device memory on CUDA) until its next Run.
            _candidates.Run(_candidateLogits[b - 1], b, rows, default, default, default, logits);
            return;
        }
        var all = _candidateLogits[b - 1].GetTensorDataAsSpan<float>();
        for (var i = 0; i < rows.Length; i++)
        {
            all.Slice(rows[i] * VocabSize, VocabSize).CopyTo(logits.Slice(i * VocabSize, VocabSize));
        }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        foreach (var binding in _decodeBindings)
        {
            if (binding is not null)
            {
                _device.Forget(binding);
                binding.Dispose();
            }
        }
        foreach (var v in _slotK.Cast<OrtValue>().Concat(_slotV.Cast<OrtValue>()).Concat(_prefixK.Cast<OrtValue>()).Concat(_prefixV.Cast<OrtValue>()).Concat(_decodeIds).Concat(_decodeSeqLens).Concat(_decodeLogits).Append(_totalValue))
        {
            v.Dispose();
        }
        _candidates?.Dispose();
        foreach (var v in _candidateLogits)
        {
            v.Dispose();
        }
        _session.Dispose();
        _runOptions.Dispose();
        _device.Dispose();
        NativeMemory.AlignedFree(_ids);
        NativeMemory.AlignedFree(_seqLens);
        NativeMemory.AlignedFree(_total);
        NativeMemory.AlignedFree(_logits);
    }

    /// <summary>
    /// One decode Run over slots [0, B) writing the logits into <paramref name="logitsViews"/>[B-1]; returns B. The logits
    /// output is bound every step: host memory for <see cref="Decode"/>, where the candidates graph reads for the other.
    /// </summary>
    private int RunDecode(ReadOnlySpan<int> tokens, ReadOnlySpan<int> pastLengths, OrtValue[] logitsViews)
    {
        var b = tokens.Length;
        ArgumentOutOfRangeException.ThrowIfGreaterThan(b, MaxNumSeqs, nameof(tokens));
        var total = 0;
        for (var i = 0; i < b; i++)
        {
            _ids[i] = tokens[i];
            _seqLens[i] = pastLengths[i];
            total = Math.Max(total, pastLengths[i] + 1);
        }
        *_total = total;
        var binding = _decodeBindings[b - 1];
        if (binding is null)
        {
            binding = _decodeBindings[b - 1] = _session.CreateIoBinding();
            BindCache(binding, _decodeLogits[b - 1], l => (_prefixK[l, b - 1], _prefixV[l, b - 1]));
        }
        BindStepInputs(binding, _decodeIds[b - 1], _decodeSeqLens[b - 1]);
        binding.BindOutput(_manifest.Outputs["logits"], logitsViews[b - 1]);
        _session.RunWithBinding(_runOptions, binding);
        return b;
    }

    /// <summary>
    /// The candidates graph over a [max_num_seqs, vocab] logits buffer the seam allocates (device memory on CUDA), when the
    /// model has one and <see cref="EngineOptions.SampleFromCandidates"/> (or the seam's default) asks for it.
    /// </summary>
    private (CandidatesSession?, OrtValue[]) CreateCandidates(string modelDirectory, EngineOptions options)
    {
        if (_manifest.Candidates is not { } manifest || !(options.SampleFromCandidates ?? _device.CandidatesByDefault))
        {
            return (null, []);
        }
        var session = new CandidatesSession(modelDirectory, manifest, VocabSize, MaxNumSeqs, _device);
        var buffer = _device.AllocateLogits((long)MaxNumSeqs * VocabSize * sizeof(float), _session);
        var views = new OrtValue[MaxNumSeqs];
        for (var b = 1; b <= MaxNumSeqs; b++)
        {
            views[b - 1] = OrtValue.CreateTensorValueWithData(_device.KvMemory, TensorElementType.Float, [b, VocabSize], buffer, (long)b * VocabSize * sizeof(float));
        }
        return (session, views);
    }

    private void CheckCopy(int a, int b, int length)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)a, (uint)MaxNumSeqs, nameof(a));
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)b, (uint)MaxNumSeqs, nameof(b));
        ArgumentOutOfRangeException.ThrowIfGreaterThan((uint)length, (uint)MaxModelLen, nameof(length));
    }

    /// <summary>Copies positions [0, length) of each head of one slot of one layer ([kv, len, hd]: a run per head).</summary>
    private void CopyPositions(IntPtr from, IntPtr to, int length)
    {
        var headBytes = _positionBytes * MaxModelLen;
        for (var h = 0; h < _manifest.NumKvHeads; h++)
        {
            _device.CopyKv(from + (nint)(h * headBytes), to + (nint)(h * headBytes), length * _positionBytes);
        }
    }

    private static void CheckRows(ReadOnlySpan<int> rows, int batch)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(rows.Length, batch, nameof(rows));
        foreach (var r in rows)
        {
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)r, (uint)batch, nameof(rows));
        }
    }

    /// <summary>Binds what stays put between steps: the logits buffer and each layer's KV view, as past and present.</summary>
    private void BindCache(OrtIoBinding binding, OrtValue logits, Func<int, (OrtValue K, OrtValue V)> kv)
    {
        binding.BindOutput(_manifest.Outputs["logits"], logits);
        for (var l = 0; l < _manifest.NumLayers; l++)
        {
            var (k, v) = kv(l);
            // The same OrtValue as past and present: GroupQueryAttention then updates the cache in place.
            binding.BindInput(ModelManifest.ForLayer(_manifest.Inputs["past_key"], l), k);
            binding.BindOutput(ModelManifest.ForLayer(_manifest.Outputs["present_key"], l), k);
            binding.BindInput(ModelManifest.ForLayer(_manifest.Inputs["past_value"], l), v);
            binding.BindOutput(ModelManifest.ForLayer(_manifest.Outputs["present_value"], l), v);
        }
    }

    /// <summary>
    /// Binds this step's host inputs, after they were written: a device copies them here, not at Run (see
    /// <see cref="DeviceSeam.BindInput"/>), so a binding reused across steps must be given them again every step.
    /// </summary>
    private void BindStepInputs(OrtIoBinding binding, OrtValue ids, OrtValue seqLens)
    {
        _device.BindInput(binding, _manifest.Inputs["input_ids"], ids);
        _device.BindInput(binding, _manifest.Inputs["seqlens_k"], seqLens);
        _device.BindInput(binding, _manifest.Inputs["total_sequence_length"], _totalValue);
    }
}
