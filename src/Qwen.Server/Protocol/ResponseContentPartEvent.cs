namespace Qwen.Server.Protocol;

/// <summary><c>response.content_part.added</c> (an empty text part) and <c>response.content_part.done</c> (the part whole).</summary>
public sealed record ResponseContentPartEvent : ResponseStreamEvent
{
    /// <summary>The message item's id.</summary>
    public required string ItemId { get; init; }

    /// <summary>The item's index in <c>output</c>.</summary>
    public required int OutputIndex { get; init; }

    /// <summary>The part's index in the message's content.</summary>
    public required int ContentIndex { get; init; }

    /// <summary>The part.</summary>
    public required ResponseOutputText Part { get; init; }
}
