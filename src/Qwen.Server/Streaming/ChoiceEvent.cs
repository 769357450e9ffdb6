using Qwen.Server.Protocol;
using Qwen.Tokenization.ToolCalls;

namespace Qwen.Server.Streaming;

/// <summary>One step of a choice as the client should see it: content, a tool-call piece, a token's logprob, or the finish.</summary>
internal sealed record ChoiceEvent(string? Content, ToolCallDelta? ToolCall, ChatCompletionTokenLogprob? Logprob, string? FinishReason, int CompletionTokens);
