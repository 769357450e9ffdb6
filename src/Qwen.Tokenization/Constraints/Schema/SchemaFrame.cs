namespace Qwen.Tokenization.Constraints.Schema;

/// <summary>
/// One level of the walk's stack, immutable and compared by value (so equal stacks intern to one DFA state).
/// Containers keep <c>Ws</c>, the whitespace since their last token: 0 none, 1 one space, 2 + k a newline and k spaces.
/// </summary>
internal abstract record SchemaFrame;

/// <summary>The root value is complete: nothing more.</summary>
internal sealed record DoneFrame : SchemaFrame
{
    public static readonly DoneFrame Instance = new();
}

/// <summary>Inside an object at <paramref name="Depth"/> (the root object is 1); <paramref name="Next"/> is the first declared property still allowed.</summary>
internal sealed record ObjectFrame(ObjectNode Node, int Depth, ObjectPhase Phase, int Next, int Prop, int Pos, int Ws) : SchemaFrame;

/// <summary>Where an object's walk is.</summary>
internal enum ObjectPhase : byte
{
    Open, // after '{': a key or '}'
    Key, // in declared key Prop, Pos bytes matched
    Colon, // after the key of Prop (-1: an extra key)
    BeforeValue, // after ':'
    AfterValue, // after a value: ',' or '}'
    Comma, // after ',': a key
}

/// <summary>Inside an array at <paramref name="Depth"/>, <paramref name="Count"/> items so far (capped where it stops mattering).</summary>
internal sealed record ArrayFrame(ArrayNode Node, int Depth, ArrayPhase Phase, int Count, int Ws) : SchemaFrame;

/// <summary>Where an array's walk is.</summary>
internal enum ArrayPhase : byte
{
    Open, // after '[': an item or ']'
    AfterValue, // after an item: ',' or ']'
    Comma, // after ',': an item
}

/// <summary>
/// Inside a string after its opening quote: the lexer state, the code points so far (capped at the node's
/// <see cref="StringNode.LengthCap"/>), the pattern state, the pending code point of a \u escape; for an extra object
/// key, which declared keys (bit i: property i) its raw bytes still spell, and how many bytes.
/// </summary>
internal sealed record StringFrame(StringNode Node, StringLex Lex, int Length, int Pattern, int CodePoint, ObjectNode? KeyOf, ulong KeyMask, int KeyPos) : SchemaFrame;

/// <summary>A string lexer's state between bytes.</summary>
internal enum StringLex : byte
{
    Body, Escape, U1, U2, U3, U4, LowBackslash, LowU, LowU1, LowU2, LowU3, LowU4,
    Cont1, Cont2, Cont2AfterE0, Cont2AfterED, Cont3, Cont3AfterF0, Cont3AfterF4,
}

/// <summary>Inside a number: <paramref name="Phase"/>, sign, integer part and digits, fraction and digits, exponent digits.</summary>
internal sealed record NumberFrame(NumberNode Node, NumberPhase Phase, bool Negative, long Int, int IntDigits, long Fraction, int FractionDigits, int ExponentDigits) : SchemaFrame;

/// <summary>Where a number's walk is.</summary>
internal enum NumberPhase : byte
{
    Minus, Int, Dot, Fraction, E, ExponentSign, Exponent,
}

/// <summary>Inside literal <paramref name="Index"/> of <paramref name="Node"/>, <paramref name="Pos"/> bytes matched.</summary>
internal sealed record LiteralFrame(LiteralNode Node, int Index, int Pos) : SchemaFrame;

/// <summary>The root value, not started yet.</summary>
internal sealed record PendingFrame(SchemaNode Node) : SchemaFrame;
