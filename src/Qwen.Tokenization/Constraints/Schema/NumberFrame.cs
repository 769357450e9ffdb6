namespace Qwen.Tokenization.Constraints.Schema;

/// <summary>Inside a number: <paramref name="Phase"/>, sign, integer part and digits, fraction and digits, exponent digits.</summary>
internal sealed record NumberFrame(NumberNode Node, NumberPhase Phase, bool Negative, long Int, int IntDigits, long Fraction, int FractionDigits, int ExponentDigits) : SchemaFrame;
