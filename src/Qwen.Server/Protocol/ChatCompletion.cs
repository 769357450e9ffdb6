namespace Qwen.Server.Protocol;

/// <summary>OpenAI <c>chat.completion</c>: the non-streamed answer.</summary>
public sealed record ChatCompletion(string Id, long Created, string Model, string SystemFingerprint, IReadOnlyList<ChatCompletionChoice> Choices, Usage Usage)
{
    /// <summary>Always <c>chat.completion</c>.</summary>
    public string Object => "chat.completion";
}
