namespace Qwen.Server.Protocol;

/// <summary><c>response.function_call_arguments.delta</c>: text to append to a function call's arguments.</summary>
public sealed record ResponseFunctionCallArgumentsDeltaEvent : ResponseStreamEvent
{
    /// <summary>The function_call item's id.</summary>
    public required string ItemId { get; init; }

    /// <summary>The item's index in <c>output</c>.</summary>
    public required int OutputIndex { get; init; }

    /// <summary>The arguments text to append.</summary>
    public required string Delta { get; init; }
}
