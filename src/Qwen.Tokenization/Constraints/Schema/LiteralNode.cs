namespace Qwen.Tokenization.Constraints.Schema;

/// <summary>One of a fixed set of JSON texts (enum, const, true, false, null), each in its canonical bytes.</summary>
internal sealed class LiteralNode(byte[][] values) : SchemaNode
{
    public byte[][] Values { get; } = values;
}
