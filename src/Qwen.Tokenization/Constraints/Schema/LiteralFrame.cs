namespace Qwen.Tokenization.Constraints.Schema;

/// <summary>Inside literal <paramref name="Index"/> of <paramref name="Node"/>, <paramref name="Pos"/> bytes matched.</summary>
internal sealed record LiteralFrame(LiteralNode Node, int Index, int Pos) : SchemaFrame;
