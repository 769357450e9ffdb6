using System.Text.Json;

namespace Qwen.Tokenization.Chat;

/// <summary>Renders OpenAI chat messages and tools into the exact prompt text the model's own chat template produces. Thread-safe.</summary>
public sealed class ChatTemplate
{
    private ChatTemplate()
    {
    }

    /// <summary>Reads <c>chat_template</c> from the directory's tokenizer_config.json; throws <see cref="NotSupportedException"/> for a template it cannot reproduce.</summary>
    public static ChatTemplate FromDirectory(string modelDirectory) => throw new InvalidOperationException("pending " + modelDirectory);

    /// <summary>
    /// Renders <paramref name="messages"/> (the OpenAI <c>messages</c> array as sent) and <paramref name="tools"/> (the OpenAI
    /// <c>tools</c> array as sent, or null). Throws <see cref="ChatFormatException"/> naming the message index and field.
    /// </summary>
    public string Render(JsonElement messages, JsonElement? tools, bool addGenerationPrompt) => throw new InvalidOperationException("pending " + messages.ValueKind + tools + addGenerationPrompt);
}
