using Qwen.Inference.Engine;

namespace Qwen.Inference.Model;

/// <summary>
/// Runs the decoder over the KV cache slots it owns. The ONNX runner is the real one; tests use scripted runners.
/// Engine loop thread only: implementations are not thread-safe.
/// </summary>
public interface IModelRunner : IDisposable
{
    /// <summary>Vocabulary size (length of one logits row).</summary>
    int VocabSize { get; }

    /// <summary>Number of KV cache slots (the most sequences that can run at once).</summary>
    int MaxNumSeqs { get; }

    /// <summary>Tokens one slot can hold (prompt plus output).</summary>
    int MaxModelLen { get; }

    /// <summary>
    /// The runner describing itself for the host (sizes, precision, KV cache, device). By default a runner with no model
    /// behind it: precision <c>scripted</c>, no KV cache bytes, on the CPU; the ONNX runner states its manifest and cache.
    /// </summary>
    ModelInfo Info => new(VocabSize, MaxModelLen, MaxNumSeqs, "scripted", 0, "cpu", null, CandidateCount);

    /// <summary>
    /// Appends <paramref name="tokens"/> to slot <paramref name="slot"/>, whose cache already holds
    /// <paramref name="pastLength"/> tokens, and writes the logits of the last new token into <paramref name="logits"/> [vocab].
    /// </summary>
    void Prefill(int slot, ReadOnlySpan<int> tokens, int pastLength, Span<float> logits);

    /// <summary>
    /// One token for each of slots [0, B) where B = <paramref name="tokens"/>.Length: row b appends tokens[b] at position
    /// pastLengths[b] of slot b. Rows of idle slots carry any token at their slot's current length (the value written there
    /// is overwritten before it is ever read). Writes logits [B, vocab] into <paramref name="logits"/>.
    /// </summary>
    void Decode(ReadOnlySpan<int> tokens, ReadOnlySpan<int> pastLengths, Span<float> logits);

    /// <summary>
    /// Copies positions [0, <paramref name="length"/>) of slot <paramref name="from"/>'s cache (every layer, keys and values)
    /// over the same positions of slot <paramref name="to"/>: a prompt prefix reused from another slot. Engine loop thread,
    /// between Runs.
    /// </summary>
    void CopyKv(int from, int to, int length);

    /// <summary>
    /// Exchanges positions [0, <paramref name="length"/>) of slots <paramref name="a"/> and <paramref name="b"/> (every layer,
    /// keys and values): how the scheduler keeps the decoding sequences in slots [0, B) without idle rows.
    /// </summary>
    void SwapKv(int a, int b, int length);

    /// <summary>
    /// Work of one attention (query, key) pair relative to one token through the linear layers (<see cref="ModelManifest.AttentionCostPerKey"/>);
    /// 0 when unknown. The scheduler shortens prefill chunks at long contexts by it (<see cref="Engine.EngineOptions.ScalePrefillChunks"/>).
    /// </summary>
    double AttentionCostPerKey => 0;

    /// <summary>
    /// Candidates per row that <see cref="DecodeCandidates"/> writes (K); 0 when this runner samples full rows only (the
    /// model has no candidates graph, or <see cref="Engine.EngineOptions.SampleFromCandidates"/> turned them off).
    /// </summary>
    int CandidateCount => 0;

    /// <summary>
    /// Like <see cref="Decode"/>, but writes for each row b of [0, B) its <see cref="CandidateCount"/> best logits, best
    /// first (equal values: lower id first), into <paramref name="topValues"/> [B, K], their ids into <paramref name="topIds"/>
    /// [B, K] and the log-sum-exp of the whole row into <paramref name="logSumExp"/> [B]; and the full logits of the rows
    /// listed in <paramref name="fullRows"/> (each in [0, B)), in that order, into <paramref name="fullLogits"/> [rows, vocab].
    /// </summary>
    void DecodeCandidates(ReadOnlySpan<int> tokens, ReadOnlySpan<int> pastLengths, ReadOnlySpan<int> fullRows, Span<float> topValues, Span<int> topIds, Span<float> logSumExp, Span<float> fullLogits)
        => throw new NotSupportedException("this runner has no candidates (CandidateCount is 0)");

    /// <summary>
    /// Writes the full logits of <paramref name="rows"/> (each in [0, B)) of the last <see cref="DecodeCandidates"/>, in that
    /// order, into <paramref name="logits"/> [rows, vocab]: the rows the sampler could not decide from their candidates.
    /// Valid until the next Prefill or Decode.
    /// </summary>
    void ReadLogits(ReadOnlySpan<int> rows, Span<float> logits)
        => throw new NotSupportedException("this runner has no candidates (CandidateCount is 0)");
}
