using Qwen.Server.Generation;
using Qwen.Server.Protocol;

namespace Qwen.Server.Endpoints;

/// <summary>
/// How one endpoint puts a generation on the wire: the only code an endpoint adds to <see cref="GenerationEndpoint"/>.
/// One per request (it may keep per-choice state, such as legacy logprob offsets or the Responses API's open output
/// item); each method returns wire records, written in order by the one writer of the stream.
/// </summary>
internal interface IGenerationMapper
{
    /// <summary>Whether the stream ends with <c>data: [DONE]</c>: chat and text completions do, the Responses API does not.</summary>
    bool SendsDone { get; }

    /// <summary>The stream's events before any choice event (the role of each choice, an echoed prompt, response.created).</summary>
    IEnumerable<object> Opening();

    /// <summary>The stream's events for one choice event (one chunk, or none to many Responses API events).</summary>
    IEnumerable<object> Chunk(ChoiceEvent e);

    /// <summary>The stream's events after the last choice event (the usage chunk when asked, response.completed).</summary>
    IEnumerable<object> Closing(Usage usage);

    /// <summary>The stream's event for a failure after it started (<paramref name="error"/> is the OpenAI error body).</summary>
    object Failure(ErrorResponse error);

    /// <summary>The whole answer.</summary>
    object Whole(IReadOnlyList<ChoiceResult> choices, Usage usage);
}
