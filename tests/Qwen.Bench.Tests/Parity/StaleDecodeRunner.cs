using Qwen.Inference.Model;

namespace Qwen.Bench.Tests.Parity;

/// <summary>
/// The decode bug a GPU found, on purpose: a decode binding built once per batch size and reused kept feeding its first
/// step's token ids and lengths (a device copies host inputs at bind time). This wrapper replays, for every later decode
/// of the same batch size, the inputs of the first one. Prefills pass through.
/// </summary>
internal sealed class StaleDecodeRunner(IModelRunner inner) : IModelRunner
{
    private readonly Dictionary<int, (int[] Tokens, int[] PastLengths)> _first = [];

    public int VocabSize => inner.VocabSize;

    public int MaxNumSeqs => inner.MaxNumSeqs;

    public int MaxModelLen => inner.MaxModelLen;

    public double AttentionCostPerKey => inner.AttentionCostPerKey;

    public void Prefill(int slot, ReadOnlySpan<int> tokens, int pastLength, Span<float> logits) => inner.Prefill(slot, tokens, pastLength, logits);

    public void Decode(ReadOnlySpan<int> tokens, ReadOnlySpan<int> pastLengths, Span<float> logits)
    {
        if (!_first.TryGetValue(tokens.Length, out var first))
        {
            first = (tokens.ToArray(), pastLengths.ToArray());
            _first[tokens.Length] = first;
        }
        inner.Decode(first.Tokens, first.PastLengths, logits);
    }

    public void CopyKv(int from, int to, int length) => inner.CopyKv(from, to, length);

    public void SwapKv(int a, int b, int length) => inner.SwapKv(a, b, length);

    public void Dispose() => inner.Dispose();
}
