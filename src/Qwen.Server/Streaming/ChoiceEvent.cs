using Qwen.Server.Protocol;
using Qwen.Tokenization.ToolCalls;

namespace Qwen.Server.Streaming;

/// <summary>
/// One step of a choice as the client should see it: content or a tool-call piece (with the logprobs of the tokens whose
/// text it carries), or the finish (with the logprobs of tokens not shown, such as the stop token). A token whose text is
/// held back (a partial stop string, an unfinished tool call) still yields an event with nothing but its token count, so
/// time to first token is measured at the first token, not at the first visible text.
/// </summary>
internal sealed record ChoiceEvent(string? Content, ToolCallDelta? ToolCall, IReadOnlyList<ChatCompletionTokenLogprob>? Logprobs, string? FinishReason, int CompletionTokens)
{
    /// <summary>Whether the event only reports progress (nothing to send).</summary>
    public bool IsProgressOnly => Content is null && ToolCall is null && Logprobs is null && FinishReason is null;
}
