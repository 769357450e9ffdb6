namespace Qwen.Server.Tests.Robustness;

/// <summary>One generated request: its bytes, content type, and the test's own verdict on whether it is a valid request
/// (null: the standards leave it open, so a 200 and a 4xx with the error body are both right).</summary>
internal sealed record FuzzCase(string Kind, byte[] Body, string? ContentType, bool? Valid, bool Stream);
