namespace Qwen.Tokenization.Constraints.Schema;

/// <summary>
/// Inside a string after its opening quote: the lexer state, the code points so far (capped at the node's
/// <see cref="StringNode.LengthCap"/>), the pattern state, the pending code point of a \u escape; for an extra object
/// key, which declared keys (bit i: property i) its raw bytes still spell, and how many bytes.
/// </summary>
internal sealed record StringFrame(StringNode Node, StringLex Lex, int Length, int Pattern, int CodePoint, ObjectNode? KeyOf, ulong KeyMask, int KeyPos) : SchemaFrame;
