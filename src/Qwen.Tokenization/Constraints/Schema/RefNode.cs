namespace Qwen.Tokenization.Constraints.Schema;

/// <summary>A <c>$ref</c>: the target is filled in once every definition is compiled (it may be recursive).</summary>
internal sealed class RefNode : SchemaNode
{
    public SchemaNode Target { get; set; } = null!;
}
