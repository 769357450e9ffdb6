using System.Text.Json;

namespace Qwen.Server.Protocol;

/// <summary>A response's <c>text</c> settings.</summary>
/// <param name="Format">The output format as requested: <c>{"type": "text"}</c> (the default) or <c>{"type": "json_object"}</c>.</param>
public sealed record ResponseTextConfig(JsonElement Format);
