namespace Qwen.Server.Protocol;

/// <summary>Why a response is incomplete.</summary>
/// <param name="Reason">Always <c>max_output_tokens</c> here (the output ran into the token limit).</param>
public sealed record ResponseIncompleteDetails(string Reason);
