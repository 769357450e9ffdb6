namespace Qwen.Tokenization.Chat;

/// <summary>A chat message the renderer cannot accept; <see cref="Param"/> names it, e.g. <c>messages[2].role</c>.</summary>
public sealed class ChatFormatException(string message, string param) : Exception(message)
{
    /// <summary>The request field at fault, in OpenAI's <c>param</c> form.</summary>
    public string Param { get; } = param;
}
