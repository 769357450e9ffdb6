using Qwen.Server.Generation;
using Qwen.Server.Protocol;

namespace Qwen.Server.Endpoints;

/// <summary>
/// How one endpoint puts a generation on the wire: the only code an endpoint adds to <see cref="GenerationEndpoint"/>.
/// One per request (it may keep per-choice state, such as legacy logprob offsets); each method returns a wire record.
/// </summary>
internal interface IGenerationMapper
{
    /// <summary>The stream's chunks before any event (the role of each choice, an echoed prompt).</summary>
    IEnumerable<object> Opening();

    /// <summary>The stream's chunk for one event.</summary>
    object Chunk(ChoiceEvent e);

    /// <summary>The stream's last chunk before [DONE] when the client asked for usage.</summary>
    object UsageChunk(Usage usage);

    /// <summary>The whole answer.</summary>
    object Whole(IReadOnlyList<ChoiceResult> choices, Usage usage);
}
