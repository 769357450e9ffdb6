namespace Qwen.Tokenization.Constraints.Schema;

/// <summary>The root value, not started yet.</summary>
internal sealed record PendingFrame(SchemaNode Node) : SchemaFrame;
