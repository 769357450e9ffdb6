using System.Text.Json;
using Qwen.Inference.Sampling;
using Qwen.Server.Hosting;
using Qwen.Tokenization.Chat;
using Qwen.Tokenization.Constraints;

namespace Qwen.Server.Validation;

/// <summary>
/// Which grammar, if any, constrains a chat-style request's output, decided in one place for /v1/chat/completions and
/// /v1/responses. A forced call (tool_choice required or a named function) writes arguments that follow the function's
/// <c>parameters</c> schema, strict or not, as vLLM does (a non-strict schema the grammar cannot enforce falls back to
/// any JSON object: the client did not ask for adherence). With tool_choice auto, a grammar runs only when some tool
/// is <c>strict</c> or the format is JSON: the text stays free (or, with a JSON format, is one JSON value in that format),
/// and once the model opens a call its arguments follow that function's schema (strict) or are a JSON object (not
/// strict); so an agent with tools and a structured answer can do both. Otherwise json_object and json_schema constrain
/// the text.
/// </summary>
internal static class OutputGrammar
{
    private static readonly JsonDocument NoParameters = JsonDocument.Parse("""{"type": "object", "properties": {}}""");

    /// <summary>A fresh constraint per choice, or null when the output is free.</summary>
    public static Func<ITokenConstraint>? Select(ModelHost model, ToolChoicePlan plan, IReadOnlyList<ChatTool> tools, bool parallel, OutputFormat format)
    {
        var stops = model.Defaults.EosTokenIds;
        var bytes = model.TokenBytes;
        switch (plan.Mode)
        {
            case "function":
                var named = Arguments(tools.First(t => t.Name == plan.Parsing.ForcedCallNames[0]), forced: true);
                return () => new GrammarConstraint(TokenGrammar.NamedToolCall(bytes, named, stops));
            case "required":
                ToolGrammar[] required = [.. tools.Select(t => new ToolGrammar(t.Name, Arguments(t, forced: true)))];
                return () => new GrammarConstraint(TokenGrammar.RequiredToolCall(bytes, required, parallel, stops));
            case "auto" when tools.Count > 0 && (format.Schema is not null || tools.Any(IsStrict)):
                ToolGrammar[] auto = [.. tools.Select(t => new ToolGrammar(t.Name, Arguments(t, forced: false)))];
                var content = format.Schema;
                return () => new GrammarConstraint(TokenGrammar.AutoToolCalls(bytes, auto, parallel, stops, content));
        }
        return format.Schema is { } schema
            ? () => new GrammarConstraint(TokenGrammar.JsonSchema(bytes, schema, stops))
            : null;
    }

    /// <summary>Whether the tool's function says <c>"strict": true</c>.</summary>
    public static bool IsStrict(ChatTool tool)
        => Function(tool).TryGetProperty("strict", out var strict) && strict.ValueKind == JsonValueKind.True;

    /// <summary>
    /// The schema a call's arguments follow: the function's parameters when strict or forced (none given: an object with
    /// no properties, so only <c>{}</c>), else any JSON object. ToolsValidator has already refused a strict schema the
    /// grammar cannot enforce.
    /// </summary>
    private static CompiledJsonSchema Arguments(ChatTool tool, bool forced)
    {
        if (!forced && !IsStrict(tool))
        {
            return CompiledJsonSchema.AnyObject;
        }
        if (!Function(tool).TryGetProperty("parameters", out var parameters) || parameters.ValueKind == JsonValueKind.Null)
        {
            return SchemaCache.Compile(NoParameters.RootElement);
        }
        try
        {
            return SchemaCache.Compile(parameters);
        }
        catch (JsonSchemaException) when (!IsStrict(tool))
        {
            return CompiledJsonSchema.AnyObject;
        }
    }

    private static JsonElement Function(ChatTool tool) => tool.Definition.GetProperty("function");
}
