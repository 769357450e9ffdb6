namespace Qwen.Server.Protocol;

/// <summary>OpenAI model list.</summary>
public sealed record ModelList(IReadOnlyList<ModelCard> Data)
{
    /// <summary>Always <c>list</c>.</summary>
    public string Object => "list";
}
