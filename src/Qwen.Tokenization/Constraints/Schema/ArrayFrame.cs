namespace Qwen.Tokenization.Constraints.Schema;

/// <summary>Inside an array at <paramref name="Depth"/>, <paramref name="Count"/> items so far (capped where it stops mattering).</summary>
internal sealed record ArrayFrame(ArrayNode Node, int Depth, ArrayPhase Phase, int Count, int Ws) : SchemaFrame;
