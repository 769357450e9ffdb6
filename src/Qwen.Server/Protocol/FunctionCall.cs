using System.Text.Json.Serialization;

namespace Qwen.Server.Protocol;

/// <summary>The function part of a tool call: name, and arguments as a JSON string (or a fragment of it when streamed).</summary>
public sealed record FunctionCall(
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Name,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Arguments);
