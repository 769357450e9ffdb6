namespace Qwen.Server.Protocol;

/// <summary>vLLM's /tokenize request: a <c>prompt</c>, or <c>messages</c> (and <c>tools</c>) rendered with the chat template.</summary>
public sealed record TokenizeRequest
{
    /// <summary>The served model id (optional).</summary>
    public string? Model { get; init; }

    /// <summary>Raw text to tokenize.</summary>
    public string? Prompt { get; init; }

    /// <summary>Chat messages to render and tokenize (instead of a prompt).</summary>
    public IReadOnlyList<ChatCompletionRequestMessage>? Messages { get; init; }

    /// <summary>Tools rendered into the system message.</summary>
    public IReadOnlyList<ChatCompletionTool>? Tools { get; init; }

    /// <summary>With messages: end with the opening of the assistant turn (default true).</summary>
    public bool? AddGenerationPrompt { get; init; }
}
