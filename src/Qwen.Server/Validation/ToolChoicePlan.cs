using System.Text.Json;
using Qwen.Tokenization.Constraints;

namespace Qwen.Server.Validation;

/// <summary>
/// How a chat request's tool_choice is carried out, decided in one place (<see cref="Decide"/>):
/// <list type="bullet">
/// <item>none: the &lt;tool_call&gt; token is banned (logit bias −∞) and no parser runs, so all text is content, even
/// markup the model spells from ordinary sub-tokens;</item>
/// <item>auto (the default with tools): the model is free; the tool-call parser turns its &lt;tool_call&gt; blocks into calls;</item>
/// <item>required: the assistant turn is opened with "&lt;tool_call&gt;\n" and a grammar makes the model write
/// {"name": one of the tools, "arguments": a JSON object} and the close tag (more calls if parallel_tool_calls);</item>
/// <item>a named function: the turn is opened with the call's JSON up to its arguments, and a grammar makes the model
/// write a JSON object and the close tag.</item>
/// </list>
/// Without tools there is no parser (output is plain text). The prefix is appended to the rendered prompt and is also the
/// first text the parser sees. The grammar itself is chosen in <see cref="OutputGrammar"/>.
/// </summary>
/// <param name="Mode">none, auto, required or function.</param>
/// <param name="PromptPrefix">Text that opens the assistant turn after the generation prompt ("" for none and auto).</param>
/// <param name="BannedTokenIds">Token ids the sampler must never pick.</param>
/// <param name="ParseToolCalls">Whether the output runs through the tool-call parser.</param>
internal sealed record ToolChoicePlan(string Mode, string PromptPrefix, IReadOnlyList<int> BannedTokenIds, bool ParseToolCalls)
{
    /// <summary>Plain text, no parser: text completions and chats without tools.</summary>
    public static ToolChoicePlan PlainText { get; } = new("auto", "", [], false);

    /// <summary>Reads tool_choice (problems go to <paramref name="body"/>'s collector) and decides the plan.</summary>
    public static ToolChoicePlan Decide(FieldReader body, IReadOnlyList<string> toolNames, int? toolCallTokenId)
    {
        var hasTools = toolNames.Count > 0;
        var auto = hasTools ? new ToolChoicePlan("auto", "", [], true) : PlainText;
        if (!body.TryGet("tool_choice", out var choice))
        {
            return auto;
        }
        if (choice.ValueKind == JsonValueKind.String)
        {
            switch (choice.GetString())
            {
                case "none":
                    return new ToolChoicePlan("none", "", toolCallTokenId is { } id ? [id] : [], false);
                case "auto":
                    return auto;
                case "required" when hasTools:
                    return new ToolChoicePlan("required", TokenGrammar.RequiredToolCallOpening, [], true);
                case "required":
                    body.Problem("tool_choice", "'tool_choice' 'required' needs 'tools'");
                    return auto;
                default:
                    body.Problem("tool_choice", $"'tool_choice' must be none, auto, required or a function (given '{FieldReader.Shorten(choice.GetString()!)}')");
                    return auto;
            }
        }
        if (choice.ValueKind != JsonValueKind.Object)
        {
            body.WrongType("tool_choice", "none, auto, required or {\"type\": \"function\", \"function\": {\"name\": ...}}", choice);
            return auto;
        }
        var c = new FieldReader(choice, "tool_choice", body.Problems);
        if (c.String("type") is { } type && type != "function")
        {
            c.Problem("type", $"'tool_choice.type' must be 'function' (given '{FieldReader.Shorten(type)}')");
        }
        var f = c.Object("function");
        if (f is null)
        {
            if (!c.TryGet("function", out _))
            {
                c.Problem("function", "'tool_choice.function' is required");
            }
            return auto;
        }
        var name = f.Value.String("name");
        if (name is null)
        {
            if (!f.Value.TryGet("name", out _))
            {
                f.Value.Problem("name", "'tool_choice.function.name' is required");
            }
            return auto;
        }
        if (!toolNames.Contains(name))
        {
            f.Value.Problem("name", $"'tool_choice.function.name' names '{FieldReader.Shorten(name)}', which is not in 'tools'");
            return auto;
        }
        return new ToolChoicePlan("function", TokenGrammar.NamedToolCallOpening(name), [], true);
    }
}
