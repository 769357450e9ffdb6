namespace Qwen.Server.Protocol;

/// <summary>Why a response failed (in <c>response.failed</c>).</summary>
/// <param name="Code">A machine-readable code (server_error, shutting_down, …).</param>
/// <param name="Message">What happened.</param>
public sealed record ResponseError(string Code, string Message);
