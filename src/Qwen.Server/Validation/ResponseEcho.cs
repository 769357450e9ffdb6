using System.Text.Json;

namespace Qwen.Server.Validation;

/// <summary>The request settings a Responses API answer repeats, as the server applied them (JSON values outlive the request body).</summary>
/// <param name="Instructions">instructions as sent.</param>
/// <param name="MaxOutputTokens">max_output_tokens as sent.</param>
/// <param name="ParallelToolCalls">parallel_tool_calls (default true).</param>
/// <param name="Temperature">The temperature used.</param>
/// <param name="TopP">The top_p used.</param>
/// <param name="Format">text.format as sent, or {"type": "text"}.</param>
/// <param name="ToolChoice">tool_choice as sent, or "auto".</param>
/// <param name="Tools">Every tool as sent.</param>
/// <param name="User">user as sent.</param>
/// <param name="Metadata">metadata as sent, or {}.</param>
internal sealed record ResponseEcho(
    string? Instructions,
    int? MaxOutputTokens,
    bool ParallelToolCalls,
    float Temperature,
    float TopP,
    JsonElement Format,
    JsonElement ToolChoice,
    IReadOnlyList<JsonElement> Tools,
    string? User,
    JsonElement Metadata);
