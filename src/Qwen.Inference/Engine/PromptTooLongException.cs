namespace Qwen.Inference.Engine;

/// <summary>
/// The prompt alone can never fit: it has at least MaxModelLen tokens, leaving no room for one generated token. (The
/// engine does not check prompt plus max_tokens: it ends a sequence with finish reason length when the slot is full; the
/// host rejects prompt plus max_tokens beyond MaxModelLen itself.)
/// </summary>
public sealed class PromptTooLongException(string message, int promptTokens, int maxModelLen) : Exception(message)
{
    /// <summary>Tokens in the rejected prompt.</summary>
    public int PromptTokens { get; } = promptTokens;

    /// <summary>The longest sequence the engine can hold.</summary>
    public int MaxModelLen { get; } = maxModelLen;
}
