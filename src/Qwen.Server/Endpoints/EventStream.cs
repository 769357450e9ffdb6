namespace Qwen.Server.Endpoints;

/// <summary>
/// Endpoint metadata: the route streams server-sent events when asked (<see cref="EventStreamResponses"/> documents them).
/// </summary>
/// <param name="Framing">How the events are written, in a sentence (SseWriter's framing for this route).</param>
/// <param name="Events">Each event payload's type, with the event names (their <c>type</c> values) it carries, if named.</param>
internal sealed record EventStream(string Framing, IReadOnlyList<(Type Payload, string[] Names)> Events);
