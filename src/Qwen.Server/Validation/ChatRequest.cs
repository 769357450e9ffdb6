namespace Qwen.Server.Validation;

/// <summary>A validated chat completion request: prompt token ids and everything generation needs.</summary>
/// <param name="PromptTokens">The rendered prompt (plus any forced tool-call opening), tokenized.</param>
/// <param name="Settings">Sampling and limits.</param>
/// <param name="ForcedPrefix">Null without tools (no tool-call parsing); else the text the assistant turn was opened with (tool_choice required or named), which the parser sees first.</param>
/// <param name="ParallelToolCalls">False: stop after the first complete tool call.</param>
internal sealed record ChatRequest(int[] PromptTokens, GenerationSettings Settings, string? ForcedPrefix, bool ParallelToolCalls);
