namespace Qwen.Inference.Engine;

/// <summary>Why the engine stopped a sequence.</summary>
public enum FinishReason
{
    /// <summary>A stop token id was sampled.</summary>
    Stop,

    /// <summary><see cref="GenerationRequest.MaxTokens"/> or the context length was reached.</summary>
    Length,
}
