namespace Qwen.Server.Protocol;

/// <summary>The requested output format: <c>text</c> or <c>json_object</c>.</summary>
public sealed record ResponseFormat(string Type);
