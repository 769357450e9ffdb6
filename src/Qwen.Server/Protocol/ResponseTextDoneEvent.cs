namespace Qwen.Server.Protocol;

/// <summary><c>response.output_text.done</c>: a message's text part, whole.</summary>
public sealed record ResponseTextDoneEvent : ResponseStreamEvent
{
    /// <summary>The message item's id.</summary>
    public required string ItemId { get; init; }

    /// <summary>The item's index in <c>output</c>.</summary>
    public required int OutputIndex { get; init; }

    /// <summary>The part's index in the message's content.</summary>
    public required int ContentIndex { get; init; }

    /// <summary>The whole text.</summary>
    public required string Text { get; init; }

    /// <summary>Always empty: this endpoint does not return logprobs.</summary>
    public IReadOnlyList<object> Logprobs { get; init; } = [];
}
