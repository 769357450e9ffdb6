namespace Qwen.Server.Protocol;

/// <summary>OpenAI <c>model</c> object.</summary>
public sealed record ModelCard(string Id, long Created, string OwnedBy, int MaxModelLen)
{
    /// <summary>Always <c>model</c>.</summary>
    public string Object => "model";
}

/// <summary>OpenAI model list.</summary>
public sealed record ModelList(IReadOnlyList<ModelCard> Data)
{
    /// <summary>Always <c>list</c>.</summary>
    public string Object => "list";
}
