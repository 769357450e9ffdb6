using System.Text.Json;
using Qwen.Tokenization.Constraints;
using Qwen.Tokenization.ToolCalls;

namespace Qwen.Server.Validation;

/// <summary>
/// How a chat request's tool_choice is carried out, decided in one place (<see cref="Decide"/>):
/// <list type="bullet">
/// <item>none: the &lt;tool_call&gt; token is banned (logit bias −∞) and no parser runs, so all text is content, even
/// markup the model spells from ordinary sub-tokens;</item>
/// <item>auto (the default with tools): the model is free; the tool-call parser turns its &lt;tool_call&gt; blocks into
/// calls, and an output that is only <c>{"name": a tool, "arguments": {…}}</c> too (bare JSON, as Qwen2.5-Coder writes);</item>
/// <item>required: the assistant turn is opened with "&lt;tool_call&gt;\n" and a grammar makes the model write
/// {"name": one of the tools, "arguments": its arguments} and the close tag (more calls if parallel_tool_calls);</item>
/// <item>a named function: the turn is opened with the call's JSON up to its arguments, and a grammar makes the model
/// write the arguments and the close tag.</item>
/// </list>
/// Without tools there is no parser (output is plain text). The prefix is appended to the rendered prompt and is also the
/// first text the parser sees. The grammar itself is chosen in <see cref="OutputGrammar"/>. With required or a
/// named function the parser knows the call is forced, so one cut by max_tokens is still a call.
/// </summary>
/// <param name="Mode">none, auto, required or function.</param>
/// <param name="PromptPrefix">Text that opens the assistant turn after the generation prompt ("" for none and auto).</param>
/// <param name="BannedTokenIds">Token ids the sampler must never pick.</param>
/// <param name="ParseToolCalls">Whether the output runs through the tool-call parser.</param>
/// <param name="Parsing">What the parser knows of the tools: names a bare JSON call may use (auto), or the forced ones.</param>
internal sealed record ToolChoicePlan(string Mode, string PromptPrefix, IReadOnlyList<int> BannedTokenIds, bool ParseToolCalls, ToolCallParserOptions Parsing)
{
    /// <summary>Plain text, no parser: text completions and chats without tools.</summary>
    public static ToolChoicePlan PlainText { get; } = new("auto", "", [], false, ToolCallParserOptions.Default);

    /// <summary>Reads tool_choice (problems go to <paramref name="body"/>'s collector) and decides the plan.</summary>
    public static ToolChoicePlan Decide(FieldReader body, IReadOnlyList<string> toolNames, int? toolCallTokenId)
    {
        var auto = Auto(toolNames);
        if (!body.TryGet("tool_choice", out var choice))
        {
            return auto;
        }
        if (choice.ValueKind == JsonValueKind.String)
        {
            return Keyword(body, choice.GetString()!, toolNames, toolCallTokenId);
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
        return Function(name);
    }

    /// <summary>tool_choice auto: the plan when none is given (plain text without tools).</summary>
    public static ToolChoicePlan Auto(IReadOnlyList<string> toolNames)
        => toolNames.Count > 0 ? new ToolChoicePlan("auto", "", [], true, new ToolCallParserOptions { BareCallNames = toolNames }) : PlainText;

    /// <summary>tool_choice as a string, the same in chat and /v1/responses: none, auto or required (problems go to <paramref name="body"/>).</summary>
    public static ToolChoicePlan Keyword(FieldReader body, string keyword, IReadOnlyList<string> toolNames, int? toolCallTokenId)
    {
        switch (keyword)
        {
            case "none":
                return new ToolChoicePlan("none", "", toolCallTokenId is { } id ? [id] : [], false, ToolCallParserOptions.Default);
            case "required" when toolNames.Count > 0:
                return new ToolChoicePlan("required", TokenGrammar.RequiredToolCallOpening, [], true, new ToolCallParserOptions { ForcedCallNames = toolNames });
            case "required":
                body.Problem("tool_choice", "'tool_choice' 'required' needs 'tools'");
                break;
            case not "auto":
                body.Problem("tool_choice", $"'tool_choice' must be none, auto, required or a function (given '{FieldReader.Shorten(keyword)}')");
                break;
        }
        return Auto(toolNames);
    }

    /// <summary>tool_choice naming function <paramref name="name"/> (one of the tools, checked by the caller).</summary>
    public static ToolChoicePlan Function(string name)
        => new("function", TokenGrammar.NamedToolCallOpening(name), [], true, new ToolCallParserOptions { ForcedCallNames = [name] });
}
