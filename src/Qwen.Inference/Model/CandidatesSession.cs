using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Qwen.Inference.Model;

/// <summary>
/// The candidates graph (candidates.onnx) over the decode logits: per row the K best logits, their ids and the row's
/// log-sum-exp, plus the full rows it is asked for. The logits stay where the decoder wrote them (device memory on CUDA);
/// everything it writes lands in host buffers owned here, bound again for every Run with the step's row list (a device
/// copies host inputs when they are bound). Engine loop thread only; must be disposed before the seam.
/// </summary>
internal sealed unsafe class CandidatesSession : IDisposable
{
    private readonly InferenceSession _session;
    private readonly CandidatesManifest _manifest;
    private readonly DeviceSeam _device;
    private readonly OrtIoBinding _binding;
    private readonly RunOptions _runOptions = new();
    private readonly int _vocab;
    private readonly float* _values;    // [max_num_seqs, K]
    private readonly long* _ids;        // [max_num_seqs, K]
    private readonly float* _lse;       // [max_num_seqs]
    private readonly long* _rows;       // [max_num_seqs]
    private readonly float* _rowLogits; // [max_num_seqs, vocab]
    private readonly OrtValue[] _valuesViews, _idsViews, _lseViews; // per B-1
    private readonly OrtValue[] _rowsViews, _rowLogitsViews;         // per row count, 0..max_num_seqs

    public CandidatesSession(string modelDirectory, CandidatesManifest manifest, int vocab, int maxNumSeqs, DeviceSeam device)
    {
        _manifest = manifest;
        _device = device;
        _vocab = vocab;
        K = manifest.K;
        // One thread: on CUDA the work is the device's; on the CPU a second pool would spin against the decoder's, and two
        // threads that sleep between Runs were no faster than one (measured here: 3.8 against 3.6-3.9 ms for 8 rows).
        using var so = new SessionOptions
        {
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            IntraOpNumThreads = 1,
            InterOpNumThreads = 1,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
        };
        device.Configure(so);
        _session = new InferenceSession(Path.Combine(modelDirectory, manifest.OnnxFile), so);
        _binding = _session.CreateIoBinding();

        _values = (float*)NativeMemory.AlignedAlloc((nuint)((long)maxNumSeqs * K * sizeof(float)), 64);
        _ids = (long*)NativeMemory.AlignedAlloc((nuint)((long)maxNumSeqs * K * sizeof(long)), 64);
        _lse = (float*)NativeMemory.AlignedAlloc((nuint)(maxNumSeqs * sizeof(float)), 64);
        _rows = (long*)NativeMemory.AlignedAlloc((nuint)(maxNumSeqs * sizeof(long)), 64);
        _rowLogits = (float*)NativeMemory.AlignedAlloc((nuint)((long)maxNumSeqs * vocab * sizeof(float)), 64);
        var host = OrtMemoryInfo.DefaultInstance;
        _valuesViews = new OrtValue[maxNumSeqs];
        _idsViews = new OrtValue[maxNumSeqs];
        _lseViews = new OrtValue[maxNumSeqs];
        for (var b = 1; b <= maxNumSeqs; b++)
        {
            _valuesViews[b - 1] = OrtValue.CreateTensorValueWithData(host, TensorElementType.Float, [b, K], (IntPtr)_values, (long)b * K * sizeof(float));
            _idsViews[b - 1] = OrtValue.CreateTensorValueWithData(host, TensorElementType.Int64, [b, K], (IntPtr)_ids, (long)b * K * sizeof(long));
            _lseViews[b - 1] = OrtValue.CreateTensorValueWithData(host, TensorElementType.Float, [b], (IntPtr)_lse, b * sizeof(float));
        }
        _rowsViews = new OrtValue[maxNumSeqs + 1];
        _rowLogitsViews = new OrtValue[maxNumSeqs + 1];
        for (var n = 0; n <= maxNumSeqs; n++)
        {
            _rowsViews[n] = OrtValue.CreateTensorValueWithData(host, TensorElementType.Int64, [n], (IntPtr)_rows, n * sizeof(long));
            _rowLogitsViews[n] = OrtValue.CreateTensorValueWithData(host, TensorElementType.Float, [n, vocab], (IntPtr)_rowLogits, (long)n * vocab * sizeof(float));
        }
    }

    /// <summary>Candidates per row.</summary>
    public int K { get; }

    /// <summary>
    /// Runs the graph over <paramref name="logits"/> ([B, vocab], where the decoder wrote them) and writes the rows
    /// <paramref name="rows"/> into <paramref name="rowLogits"/> [rows, vocab]; with <paramref name="values"/> not empty
    /// also each row's candidates: values and ids [B, K] (ids as int) and log-sum-exp [B].
    /// </summary>
    public void Run(OrtValue logits, int batch, ReadOnlySpan<int> rows, Span<float> values, Span<int> ids, Span<float> logSumExp, Span<float> rowLogits)
    {
        for (var i = 0; i < rows.Length; i++)
        {
            _rows[i] = rows[i];
        }
        // Both inputs again on every Run, after they were written: a device copies host inputs when they are bound.
        _device.BindInput(_binding, _manifest.Inputs["logits"], logits);
        _device.BindInput(_binding, _manifest.Inputs["rows"], _rowsViews[rows.Length]);
        _binding.BindOutput(_manifest.Outputs["top_values"], _valuesViews[batch - 1]);
        _binding.BindOutput(_manifest.Outputs["top_ids"], _idsViews[batch - 1]);
        _binding.BindOutput(_manifest.Outputs["log_sum_exp"], _lseViews[batch - 1]);
        _binding.BindOutput(_manifest.Outputs["row_logits"], _rowLogitsViews[rows.Length]);
        _session.RunWithBinding(_runOptions, _binding);

        new ReadOnlySpan<float>(_rowLogits, rows.Length * _vocab).CopyTo(rowLogits);
        if (values.IsEmpty)
        {
            return;
        }
        new ReadOnlySpan<float>(_values, batch * K).CopyTo(values);
        new ReadOnlySpan<float>(_lse, batch).CopyTo(logSumExp);
        for (var i = 0; i < batch * K; i++)
        {
            ids[i] = (int)_ids[i];
        }
    }

    public void Dispose()
    {
        _device.Forget(_binding);
        _binding.Dispose();
        foreach (var v in _valuesViews.Concat(_idsViews).Concat(_lseViews).Concat(_rowsViews).Concat(_rowLogitsViews))
        {
            v.Dispose();
        }
        _session.Dispose();
        _runOptions.Dispose();
        NativeMemory.AlignedFree(_values);
        NativeMemory.AlignedFree(_ids);
        NativeMemory.AlignedFree(_lse);
        NativeMemory.AlignedFree(_rows);
        NativeMemory.AlignedFree(_rowLogits);
    }
}
