namespace Qwen.Server.Protocol;

/// <summary>vLLM's /tokenize response.</summary>
public sealed record TokenizeResponse(IReadOnlyList<int> Tokens, int Count, int MaxModelLen);

/// <summary>vLLM's /detokenize response.</summary>
public sealed record DetokenizeResponse(string Prompt);
