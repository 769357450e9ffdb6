namespace Qwen.Tokenization.Chat;

/// <summary>
/// A rendered prompt and where in it the conversation's own text lies (message content, tool-call names and arguments,
/// tool definitions): sorted, disjoint ranges, outside which is only the template's text. A tokenizer can then treat
/// added-token text inside them as plain text (<see cref="Tokenizer.QwenTokenizer.Encode(string, IReadOnlyList{Range}, CancellationToken)"/>).
/// </summary>
/// <param name="Text">The prompt, byte for byte what the model's chat template renders.</param>
/// <param name="Content">The ranges of <paramref name="Text"/> the conversation wrote.</param>
public sealed record RenderedPrompt(string Text, IReadOnlyList<Range> Content);
