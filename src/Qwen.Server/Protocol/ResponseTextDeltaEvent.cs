namespace Qwen.Server.Protocol;

/// <summary><c>response.output_text.delta</c>: text to append to a message's text part.</summary>
public sealed record ResponseTextDeltaEvent : ResponseStreamEvent
{
    /// <summary>The message item's id.</summary>
    public required string ItemId { get; init; }

    /// <summary>The item's index in <c>output</c>.</summary>
    public required int OutputIndex { get; init; }

    /// <summary>The part's index in the message's content.</summary>
    public required int ContentIndex { get; init; }

    /// <summary>The text to append.</summary>
    public required string Delta { get; init; }

    /// <summary>Always empty: this endpoint does not return logprobs.</summary>
    public IReadOnlyList<object> Logprobs { get; init; } = [];
}
