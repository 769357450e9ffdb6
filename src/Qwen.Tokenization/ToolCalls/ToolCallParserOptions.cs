namespace Qwen.Tokenization.ToolCalls;

/// <summary>
/// What the tool-call parser knows of the request beyond the markup. The default knows nothing: only
/// <c>&lt;tool_call&gt;</c> blocks are calls, and a block left open is content.
/// </summary>
public sealed record ToolCallParserOptions
{
    /// <summary>No tool names: markup only.</summary>
    public static ToolCallParserOptions Default { get; } = new();

    /// <summary>
    /// With tool_choice auto: an output that is only a JSON object <c>{"name": one of these, "arguments": {…}}</c>
    /// (whitespace around it allowed) is a call, as Qwen2.5-Coder writes them. Empty: such output stays content.
    /// </summary>
    public IReadOnlyList<string> BareCallNames { get; init; } = [];

    /// <summary>
    /// With tool_choice required or a named function (a grammar forces a call): the tools that may be called. A block
    /// still open when the text ends (cut by max_tokens) is then a call all the same: its name, or the first of these
    /// whose name begins with what was written of it, and the arguments so far ("" before they began). Empty: not forced.
    /// </summary>
    public IReadOnlyList<string> ForcedCallNames { get; init; } = [];
}
