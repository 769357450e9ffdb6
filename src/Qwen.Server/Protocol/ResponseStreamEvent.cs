using System.Text.Json.Serialization;

namespace Qwen.Server.Protocol;

/// <summary>
/// One server-sent event of a streamed /v1/responses answer: its <c>type</c> (also the SSE <c>event:</c> name) and a
/// <c>sequence_number</c> rising from 0 in the order the events are written.
/// </summary>
public abstract record ResponseStreamEvent
{
    /// <summary>The event's type, e.g. <c>response.output_text.delta</c>.</summary>
    [JsonPropertyOrder(-2)]
    public required string Type { get; init; }

    /// <summary>The event's place in the stream, from 0; stamped by the writer as the event is written.</summary>
    [JsonPropertyOrder(-1)]
    public int SequenceNumber { get; init; }
}
