namespace Qwen.Server.Protocol;

/// <summary>vLLM's /detokenize response.</summary>
public sealed record DetokenizeResponse(string Prompt);
