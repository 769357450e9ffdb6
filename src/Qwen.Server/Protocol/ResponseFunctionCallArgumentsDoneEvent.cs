namespace Qwen.Server.Protocol;

/// <summary><c>response.function_call_arguments.done</c>: a function call's arguments, whole.</summary>
public sealed record ResponseFunctionCallArgumentsDoneEvent : ResponseStreamEvent
{
    /// <summary>The function_call item's id.</summary>
    public required string ItemId { get; init; }

    /// <summary>The item's index in <c>output</c>.</summary>
    public required int OutputIndex { get; init; }

    /// <summary>The function's name.</summary>
    public required string Name { get; init; }

    /// <summary>The arguments, a JSON object as text.</summary>
    public required string Arguments { get; init; }
}
