using Qwen.Inference.Sampling;

namespace Qwen.Inference.Engine;

/// <summary>One sequence to generate: prompt token ids, sampling, and when to stop.</summary>
/// <param name="PromptTokens">The rendered, tokenized prompt; never empty, shorter than the engine's MaxModelLen.</param>
/// <param name="Sampling">How to pick each token.</param>
/// <param name="MaxTokens">Upper bound on generated tokens (at least 1); the context left (MaxModelLen minus the prompt) caps it too.</param>
/// <param name="StopTokenIds">Generation ends (finish reason stop) when one of these is sampled; it is reported, not hidden.</param>
public sealed record GenerationRequest(
    int[] PromptTokens,
    SamplingParams Sampling,
    int MaxTokens,
    IReadOnlyList<int> StopTokenIds)
{
    /// <summary>
    /// Restricts every sampled token, stop tokens included (grammar-constrained decoding); null: unconstrained. Called by
    /// the engine, never concurrently, but not always on the same thread (see <see cref="ITokenConstraint"/>). When it allows no token at all the sequence ends with <see cref="FinishReason.Stop"/>
    /// and the first of <see cref="StopTokenIds"/> as its last token, so a constrained request needs at least one stop id.
    /// </summary>
    public ITokenConstraint? Constraint { get; init; }

    /// <summary>
    /// The caller's request this sequence belongs to: the server gives every choice of one request the same key, so
    /// admission can share the slots between requests (the Scheduler's fair-share rule). The same object is the same group
    /// (compared by reference, so equal records of two requests stay apart); null: a group of its own.
    /// </summary>
    public object? Group { get; init; }
}
