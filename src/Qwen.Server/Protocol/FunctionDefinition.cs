using System.Text.Json;

namespace Qwen.Server.Protocol;

/// <summary>A function the model may call: its name, what it does, and its parameters as a JSON Schema object.</summary>
public sealed record FunctionDefinition(string Name, string? Description, JsonElement? Parameters);
