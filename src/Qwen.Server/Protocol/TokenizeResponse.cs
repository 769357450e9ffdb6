namespace Qwen.Server.Protocol;

/// <summary>vLLM's /tokenize response.</summary>
public sealed record TokenizeResponse(int Count, int MaxModelLen, IReadOnlyList<int> Tokens);
