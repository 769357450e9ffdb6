using System.Text.Json;
using Qwen.Tokenization.Chat;

namespace Qwen.Server.Validation;

/// <summary>
/// Reads a Responses API request's <c>tools</c> and <c>tool_choice</c>. A function tool arrives flat,
/// <c>{"type": "function", "name", "description", "parameters", "strict"}</c>, and becomes the chat shape
/// <c>{"type": "function", "function": {…its other keys, in the order sent…}}</c>, so the chat template writes it exactly as
/// it writes the same tool sent to /v1/chat/completions. Tools of other types (web_search, file_search, mcp, …) are hosted
/// by OpenAI: they are accepted, echoed and never offered to the model. tool_choice is carried out by chat's own rule,
/// <see cref="ToolChoicePlan"/>'s (Keyword, Function, Auto).
/// </summary>
internal static class ResponsesTools
{
    /// <summary>
    /// The function tools in chat shape, in order; <paramref name="echo"/> gets every tool as sent. When there were
    /// problems the tools are as sent and only their names may be read (as <see cref="ToolsValidator.Read"/>'s).
    /// </summary>
    public static List<ChatTool> Read(FieldReader body, List<JsonElement> echo)
    {
        var functions = new List<(string Name, JsonElement Tool)>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        var before = body.Problems.Count;
        foreach (var (t, tool) in ToolsValidator.Objects(body, "tools", owned: true))
        {
            echo.Add(tool);
            var type = t.String("type");
            if (type is null && !t.TryGet("type", out _))
            {
                t.Problem("type", $"'{t.Param("type")}' is required");
            }
            // A hosted tool (web_search, file_search, …) is accepted and not offered to the model.
            if (type == "function" && ToolsValidator.Function(t, names) is { } name)
            {
                functions.Add((name, tool));
            }
        }
        // With problems the request is refused and the list is read for its names only: the shapes are not worth building.
        return body.Problems.Count == before ? ChatShapes(functions) : [.. functions.Select(f => new ChatTool(f.Name, f.Tool))];
    }

    /// <summary>
    /// Reads tool_choice (none, auto, required or {"type": "function", "name"}) and decides its plan with chat's plans;
    /// <paramref name="echo"/> is the choice as sent, or "auto".
    /// </summary>
    public static ToolChoicePlan ToolChoice(FieldReader body, IReadOnlyList<string> toolNames, int? toolCallTokenId, out JsonElement echo)
    {
        if (!body.TryGet("tool_choice", out var choice))
        {
            echo = JsonSerializer.SerializeToElement("auto");
            return ToolChoicePlan.Auto(toolNames);
        }
        echo = choice.Clone();
        if (choice.ValueKind == JsonValueKind.String)
        {
            return ToolChoicePlan.Keyword(body, choice.GetString()!, toolNames, toolCallTokenId); // none, auto, required read the same in both APIs
        }
        if (choice.ValueKind != JsonValueKind.Object)
        {
            body.WrongType("tool_choice", "none, auto, required or {\"type\": \"function\", \"name\": ...}", choice);
            return ToolChoicePlan.Auto(toolNames);
        }
        var c = new FieldReader(choice, "tool_choice", body.Problems);
        var type = c.String("type");
        if (type != "function")
        {
            if (type is not null || !c.TryGet("type", out _))
            {
                c.Problem("type", $"'tool_choice.type' must be 'function'" + (type is null ? "" : $" (given '{FieldReader.Shorten(type)}'; hosted tools are not available on this server)"));
            }
            return ToolChoicePlan.Auto(toolNames);
        }
        var name = c.String("name");
        if (name is null)
        {
            if (!c.TryGet("name", out _))
            {
                c.Problem("name", "'tool_choice.name' is required");
            }
            return ToolChoicePlan.Auto(toolNames);
        }
        if (!toolNames.Contains(name))
        {
            c.Problem("name", $"'tool_choice.name' names '{FieldReader.Shorten(name)}', which is not a function in 'tools'");
            return ToolChoicePlan.Auto(toolNames);
        }
        return ToolChoicePlan.Function(name);
    }

    /// <summary>
    /// Each function as {"type": "function", "function": {the tool's keys but type, in order}}, as values that outlive
    /// the request; written into one document, not one per tool.
    /// </summary>
    private static List<ChatTool> ChatShapes(List<(string Name, JsonElement Tool)> functions)
    {
        if (functions.Count == 0)
        {
            return [];
        }
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartArray();
            foreach (var (_, tool) in functions)
            {
                writer.WriteStartObject();
                writer.WriteString("type", "function");
                writer.WritePropertyName("function");
                writer.WriteStartObject();
                foreach (var property in tool.EnumerateObject())
                {
                    if (property.Name != "type")
                    {
                        property.WriteTo(writer);
                    }
                }
                writer.WriteEndObject();
                writer.WriteEndObject();
            }
            writer.WriteEndArray();
        }
        using var document = JsonDocument.Parse(buffer.ToArray());
        return [.. document.RootElement.Clone().EnumerateArray().Select((shape, i) => new ChatTool(functions[i].Name, shape))];
    }
}
