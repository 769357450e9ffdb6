namespace Qwen.Tokenization.Constraints.Schema;

/// <summary>A declared property: its key's bytes as written between the quotes, its value's schema, and whether it is required.</summary>
internal sealed record ObjectProperty(byte[] Key, SchemaNode Value, bool Required);
