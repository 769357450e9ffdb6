namespace Qwen.Tokenization.Chat;

/// <summary>Who wrote a chat message; the template writes it by its lowercase name.</summary>
public enum ChatRole
{
    /// <summary>Instructions: a first system message replaces the default system prompt, a later one is its own turn.</summary>
    System,

    /// <summary>The user's turn.</summary>
    User,

    /// <summary>The model's turn, text and tool calls.</summary>
    Assistant,

    /// <summary>A tool's result, written as a &lt;tool_response&gt; inside a user turn (consecutive results share one).</summary>
    Tool,
}
