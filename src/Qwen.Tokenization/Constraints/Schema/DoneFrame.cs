namespace Qwen.Tokenization.Constraints.Schema;

/// <summary>The root value is complete: nothing more.</summary>
internal sealed record DoneFrame : SchemaFrame
{
    public static readonly DoneFrame Instance = new();
}
