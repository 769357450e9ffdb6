using Qwen.Inference.Engine;
using Qwen.Inference.Sampling;

namespace Qwen.Server.Validation;

/// <summary>
/// A validated generation request, built once by the chat or text validator: what the engine runs for choice 0 (choice i
/// samples with seed + i), how the output is read (stop strings, tool calls) and how the client wants it (stream, usage).
/// </summary>
/// <param name="Request">Prompt ids, sampling (logit bias, banned tokens and logprobs included), max tokens and stop ids.</param>
/// <param name="N">Number of choices.</param>
/// <param name="Stops">Stop strings.</param>
/// <param name="Grammar">Makes a fresh grammar constraint for each choice (forced tool calls, json_object); null: unconstrained.</param>
/// <param name="ToolChoice">How tool_choice is carried out: prompt prefix, banned tokens, whether output is parsed for calls.</param>
/// <param name="ParallelToolCalls">False: stop after the first complete tool call.</param>
/// <param name="Stream">Server-sent events.</param>
/// <param name="IncludeUsage">Send a usage chunk at the end of a stream.</param>
internal sealed record GenerationPlan(
    GenerationRequest Request,
    int N,
    IReadOnlyList<string> Stops,
    Func<ITokenConstraint>? Grammar,
    ToolChoicePlan ToolChoice,
    bool ParallelToolCalls,
    bool Stream,
    bool IncludeUsage)
{
    /// <summary>Alternatives per token when the client asked for logprobs; null when it did not.</summary>
    public int? TopLogprobs => Request.Sampling.TopLogprobs;
}
