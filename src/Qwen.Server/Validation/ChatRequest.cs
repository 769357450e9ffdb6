namespace Qwen.Server.Validation;

/// <summary>A validated chat completion request: prompt token ids and everything generation needs.</summary>
/// <param name="PromptTokens">The rendered prompt plus the tool-choice prefix, tokenized.</param>
/// <param name="Settings">Sampling and limits.</param>
/// <param name="ToolChoice">How tool_choice is carried out: prompt prefix, banned tokens, whether output is parsed for calls.</param>
/// <param name="ParallelToolCalls">False: stop after the first complete tool call.</param>
internal sealed record ChatRequest(int[] PromptTokens, GenerationSettings Settings, ToolChoicePlan ToolChoice, bool ParallelToolCalls);
