using Qwen.Inference.Engine;
using Qwen.Tokenization.ToolCalls;

namespace Qwen.Server.Generation;

/// <summary>
/// One step of choice <see cref="Choice"/>, in neutral terms that every wire format maps: content or a tool-call piece
/// (with the generated tokens whose text it carries, in engine terms: ids, logprobs, alternatives), or the finish (with
/// the tokens never shown, such as the stop token, and the finish reason: stop, length or tool_calls).
/// </summary>
/// <param name="Choice">The choice's index.</param>
/// <param name="Content">Text to show, if any.</param>
/// <param name="ToolCall">A tool-call piece, if any.</param>
/// <param name="Tokens">The tokens this event reports logprobs for; null when none (or logprobs were not asked for).</param>
/// <param name="Finish">Set on the choice's last event.</param>
/// <param name="CompletionTokens">Tokens the choice has generated so far.</param>
internal sealed record ChoiceEvent(int Choice, string? Content, ToolCallDelta? ToolCall, IReadOnlyList<GeneratedToken>? Tokens, string? Finish, int CompletionTokens)
{
    /// <summary>
    /// Whether the event only reports progress: a token whose text is held back (a partial stop string, an unfinished tool
    /// call) still counts, so time to first token is measured at the first token, not at the first visible text.
    /// </summary>
    public bool IsProgressOnly => Content is null && ToolCall is null && Tokens is null && Finish is null;
}
