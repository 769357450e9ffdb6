namespace Qwen.Tokenization.Constraints.Schema;

/// <summary>Where a number's walk is.</summary>
internal enum NumberPhase : byte
{
    Minus, Int, Dot, Fraction, E, ExponentSign, Exponent,
}
