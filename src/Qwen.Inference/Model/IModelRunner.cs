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
}
