namespace Qwen.Server.Protocol;

/// <summary>An alternative token at one position.</summary>
public sealed record TopLogprob(string Token, float Logprob, IReadOnlyList<int> Bytes);
