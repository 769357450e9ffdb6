using Qwen.Inference.Engine;
using Qwen.Tokenization.ToolCalls;

namespace Qwen.Server.Generation;

/// <summary>One choice's whole output, accumulated from its events: what whole (not streamed) answers are built from.</summary>
/// <param name="Message">Content (null when empty) and tool calls, accumulated as a client accumulates the stream.</param>
/// <param name="Tokens">Every generated token with its logprobs, when asked for (empty otherwise).</param>
/// <param name="Finish">stop, length or tool_calls.</param>
internal sealed record ChoiceResult(ParsedAssistantMessage Message, IReadOnlyList<GeneratedToken> Tokens, string Finish);
