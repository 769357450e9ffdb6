using Qwen.Inference.Model;

namespace Qwen.Server.Tests.Robustness;

/// <summary>
/// The real ONNX runner whose decode steps wait while the gate is closed, so a test can keep admitted streams running for
/// as long as it needs (on a loaded machine the tiny model finishes 400 tokens in well under a second, sooner than a
/// poller may notice the server is full). The engine thread waits at most 30 s, so a failed test cannot wedge it.
/// </summary>
internal sealed class DecodeGateRunner(IModelRunner inner) : IModelRunner
{
    private readonly ManualResetEventSlim _open = new(initialState: true);

    public int VocabSize => inner.VocabSize;

    public int MaxNumSeqs => inner.MaxNumSeqs;

    public int MaxModelLen => inner.MaxModelLen;

    public void Close() => _open.Reset();

    public void Open() => _open.Set();

    public void Prefill(int slot, ReadOnlySpan<int> tokens, int pastLength, Span<float> logits) => inner.Prefill(slot, tokens, pastLength, logits);

    public void Decode(ReadOnlySpan<int> tokens, ReadOnlySpan<int> pastLengths, Span<float> logits)
    {
        _open.Wait(TimeSpan.FromSeconds(30));
        inner.Decode(tokens, pastLengths, logits);
    }

    public void Dispose()
    {
        _open.Set();
        inner.Dispose();
        _open.Dispose();
    }
}
