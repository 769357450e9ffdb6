namespace Qwen.Tokenization.Constraints.Schema;

/// <summary>Inside an object at <paramref name="Depth"/> (the root object is 1); <paramref name="Next"/> is the first declared property still allowed.</summary>
internal sealed record ObjectFrame(ObjectNode Node, int Depth, ObjectPhase Phase, int Next, int Prop, int Pos, int Ws) : SchemaFrame;
