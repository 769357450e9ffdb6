namespace Qwen.Server.Protocol;

/// <summary><c>response.output_item.added</c> (the item as it begins) and <c>response.output_item.done</c> (the item whole).</summary>
public sealed record ResponseOutputItemEvent : ResponseStreamEvent
{
    /// <summary>The item's index in <c>output</c>.</summary>
    public required int OutputIndex { get; init; }

    /// <summary>The item.</summary>
    public required ResponseOutputItem Item { get; init; }
}
