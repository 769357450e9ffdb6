namespace Qwen.Tokenization.Constraints.Schema;

/// <summary>
/// One level of the walk's stack, immutable and compared by value (so equal stacks intern to one DFA state).
/// Containers keep <c>Ws</c>, the whitespace since their last token: 0 none, 1 one space, 2 + k a newline and k spaces.
/// </summary>
internal abstract record SchemaFrame;
