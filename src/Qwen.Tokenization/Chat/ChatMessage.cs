namespace Qwen.Tokenization.Chat;

/// <summary>One chat message as the template renders it: role, text and the assistant's tool calls, already checked by the caller.</summary>
/// <param name="Role">Who wrote it.</param>
/// <param name="Content">The text: OpenAI's text parts joined with "\n" (as vLLM does); "" for null or absent content.</param>
/// <param name="ToolCalls">An assistant message's tool calls (the template writes them on assistant messages only).</param>
public sealed record ChatMessage(ChatRole Role, string Content, IReadOnlyList<ChatToolCall> ToolCalls)
{
    /// <summary>A message without tool calls.</summary>
    public ChatMessage(ChatRole role, string content)
        : this(role, content, [])
    {
    }
}
