namespace Qwen.Server.Protocol;

/// <summary>OpenAI <c>text_completion</c> (legacy completions), also used for its stream chunks.</summary>
public sealed record TextCompletion(string Id, long Created, string Model, string SystemFingerprint, IReadOnlyList<TextCompletionChoice> Choices, Usage? Usage)
{
    /// <summary>Always <c>text_completion</c>.</summary>
    public string Object => "text_completion";
}

/// <summary>One choice of a text completion.</summary>
public sealed record TextCompletionChoice(int Index, string Text, CompletionLogprobs? Logprobs, string? FinishReason);

/// <summary>Legacy logprobs: parallel lists per token.</summary>
public sealed record CompletionLogprobs(IReadOnlyList<string> Tokens, IReadOnlyList<float?> TokenLogprobs, IReadOnlyList<Dictionary<string, float>?> TopLogprobs, IReadOnlyList<int> TextOffset);
