namespace Qwen.Inference.Engine;

/// <summary>The prompt plus the requested output can never fit the model's context or the KV cache.</summary>
public sealed class PromptTooLongException(string message, int promptTokens, int maxModelLen) : Exception(message)
{
    /// <summary>Tokens in the rejected prompt.</summary>
    public int PromptTokens { get; } = promptTokens;

    /// <summary>The longest sequence the engine can hold.</summary>
    public int MaxModelLen { get; } = maxModelLen;
}
