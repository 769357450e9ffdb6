namespace Qwen.Tokenization.Constraints.Schema;

/// <summary>A string lexer's state between bytes.</summary>
internal enum StringLex : byte
{
    Body, Escape, U1, U2, U3, U4, LowBackslash, LowU, LowU1, LowU2, LowU3, LowU4,
    Cont1, Cont2, Cont2AfterE0, Cont2AfterED, Cont3, Cont3AfterF0, Cont3AfterF4,
}
