using System.Diagnostics;
using Qwen.Server.Hosting;
using Qwen.Tokenization.Chat;

namespace Qwen.Server.Validation;

/// <summary>
/// A request's conversation, read once by <see cref="Read"/> and turned into prompt tokens by <see cref="Encode"/>: the
/// one render step that /v1/chat/completions and /tokenize share, so both count the same tokens for the same messages.
/// </summary>
/// <param name="Messages">The checked messages; empty when they had problems (the request is refused before rendering).</param>
/// <param name="Tools">The tools with a valid name; possibly partial when they had problems (see <see cref="ToolsValidator"/>).</param>
internal sealed record ChatPrompt(IReadOnlyList<ChatMessage> Messages, IReadOnlyList<ChatTool> Tools)
{
    /// <summary>Reads and checks <c>messages</c>, then <c>tools</c>; problems go to <paramref name="body"/>'s collector.</summary>
    public static ChatPrompt Read(FieldReader body) => new(MessagesValidator.Read(body) ?? [], ToolsValidator.Read(body));

    /// <summary>The tools' function names, in order (tool_choice and the forced-call grammar refer to them).</summary>
    public IReadOnlyList<string> ToolNames => [.. Tools.Select(t => t.Name)];

    /// <summary>
    /// Renders with the model's chat template, appends <paramref name="suffix"/> (text that opens the assistant turn, as
    /// tool_choice asks) and tokenizes; with <see cref="ServerOptions.SplitSpecialTokens"/> the messages' special-token
    /// text is plain text. <paramref name="fit"/> (null: none, as for /tokenize) refuses a prompt that cannot fit with its
    /// max_tokens before tokenizing (<see cref="RequestValidator.Tokenize"/>). Only for a request whose problems were
    /// thrown: the renderer takes checked input.
    /// </summary>
    public int[] Encode(ModelHost model, ServerOptions options, bool addGenerationPrompt, string suffix, (int? MaxTokens, string Field)? fit, CancellationToken cancellationToken)
    {
        Debug.Assert(Messages.Count > 0, "rendered before the request's problems were thrown");
        var rendered = model.Template.RenderPrompt(Messages, Tools, addGenerationPrompt, cancellationToken);
        var text = rendered.Text + suffix; // the suffix is the server's, not the client's: its tokens stay control tokens
        IReadOnlyList<Range> plain = options.SplitSpecialTokens ? rendered.Content : [];
        return fit is { } f
            ? RequestValidator.Tokenize(model, text, plain, f.MaxTokens, f.Field, cancellationToken)
            : model.Tokenizer.Encode(text, plain, cancellationToken);
    }
}
