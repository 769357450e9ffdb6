using System.Runtime.CompilerServices;
using Qwen.Inference.Engine;
using Qwen.Server.Hosting;
using Qwen.Server.Validation;
using Qwen.Tokenization.Streaming;
using Qwen.Tokenization.ToolCalls;

namespace Qwen.Server.Generation;

/// <summary>
/// Assembles one choice from the engine's token ids: detokenize (special tokens skipped) → stop strings → tool-call
/// parser (only when <see cref="ToolChoicePlan.ParseToolCalls"/>) → events. The same events feed JSON answers and SSE
/// streams, so both say the same thing. A token's logprobs ride on the first event that carries text of it; those of
/// tokens never shown ride on the finish event, so a stream and a whole answer list the same tokens.
/// With parallel_tool_calls false the choice ends once the first call's block is closed by its &lt;/tool_call&gt;
/// (<see cref="StreamingToolCallParser.CallsClosed"/>), and nothing after it is shown.
/// </summary>
internal static class ChoiceGenerator
{
    /// <summary>
    /// Queues choice <paramref name="choice"/> now (so overload and context errors are thrown before any response is
    /// written) and returns its events, with the engine's stream of its tokens (whose count includes tokens not yet read).
    /// Stopping the enumeration early cancels the sequence.
    /// </summary>
    public static (IAsyncEnumerable<ChoiceEvent> Events, TokenStream Tokens) Start(ModelHost model, GenerationPlan plan, int choice, CancellationToken ct)
    {
        var request = plan.Request;
        if (request.Sampling.Seed is { } seed && choice > 0)
        {
            request = request with { Sampling = request.Sampling with { Seed = seed + (ulong)choice } };
        }
        // Group: every choice of this request shares the plan, so the engine's admission shares slots between requests.
        var tokens = model.Engine.GenerateAsync(request with { Constraint = plan.Grammar?.Invoke(), Group = plan }, ct);
        return (Run(model, tokens, plan, choice, ct), tokens);
    }

    private static async IAsyncEnumerable<ChoiceEvent> Run(ModelHost model, IAsyncEnumerable<GeneratedToken> tokens, GenerationPlan plan, int choice, [EnumeratorCancellation] CancellationToken ct)
    {
        var detokenizer = model.Tokenizer.CreateDetokenizer(skipSpecialTokens: true);
        var stopper = new StopStringMatcher(plan.Stops);
        var output = new Output(choice, plan.ToolChoice.ParseToolCalls ? new StreamingToolCallParser(options: plan.ToolChoice.Parsing) : null, !plan.ParallelToolCalls);
        List<GeneratedToken>? pending = plan.TopLogprobs is null ? null : [];
        var count = 0;
        if (plan.ToolChoice.ParseToolCalls && plan.ToolChoice.PromptPrefix.Length > 0)
        {
            // The prefix opened the call in the prompt; the parser must see it too (a streaming parser may emit the name now).
            foreach (var e in output.Push(plan.ToolChoice.PromptPrefix, 0))
            {
                yield return e;
            }
        }
        string? finish = null;
        var cut = false; // a stop string or the first call (parallel_tool_calls false) ended the choice: nothing after it is shown
        await foreach (var token in tokens.WithCancellation(ct).ConfigureAwait(false))
        {
            count++;
            pending?.Add(token);
            var (text, stopped) = stopper.Push(detokenizer.Push(token.TokenId));
            var shown = false;
            foreach (var e in output.Push(text, count))
            {
                yield return Attach(e, ref pending);
                shown = true;
            }
            if (!shown)
            {
                yield return new ChoiceEvent(choice, null, null, null, null, count);
            }
            if (stopped)
            {
                finish = "stop";
                cut = true;
                break; // leaving the loop disposes the engine's enumerator, which frees the slot
            }
            if (output.FirstCallComplete)
            {
                finish = "tool_calls";
                cut = true;
                break;
            }
            if (token.Finish is { } reason)
            {
                finish = reason == FinishReason.Length ? "length" : "stop";
            }
        }
        if (!cut)
        {
            var (rest, _) = stopper.Push(detokenizer.Flush());
            foreach (var e in output.Push(rest + stopper.Flush(), count))
            {
                yield return Attach(e, ref pending);
            }
        }
        foreach (var e in output.Finish(count))
        {
            yield return Attach(e, ref pending);
        }
        if (output.HasToolCalls && finish is null or "stop")
        {
            finish = "tool_calls";
        }
        yield return new ChoiceEvent(choice, null, null, pending is { Count: > 0 } ? pending : null, finish ?? "stop", count);
    }

    private static ChoiceEvent Attach(ChoiceEvent e, ref List<GeneratedToken>? pending)
    {
        if (pending is not { Count: > 0 })
        {
            return e;
        }
        var attached = e with { Tokens = pending };
        pending = [];
        return attached;
    }

    /// <summary>The choice's visible output: plain text, or text through the tool-call parser, cut after the first call when asked.</summary>
    private sealed class Output(int choice, StreamingToolCallParser? parser, bool firstCallOnly)
    {
        private bool _sawCall;

        public bool HasToolCalls => parser?.HasToolCalls ?? false;

        /// <summary>With parallel_tool_calls false: the first call's block is closed, so that call is whole.</summary>
        public bool FirstCallComplete => firstCallOnly && parser is { CallsClosed: > 0 };

        public List<ChoiceEvent> Push(string text, int count)
        {
            var events = new List<ChoiceEvent>();
            if (text.Length == 0)
            {
                return events;
            }
            if (parser is null)
            {
                events.Add(new ChoiceEvent(choice, text, null, null, null, count));
                return events;
            }
            Keep(parser.Push(text), count, events);
            return events;
        }

        public List<ChoiceEvent> Finish(int count)
        {
            var events = new List<ChoiceEvent>();
            if (parser is not null)
            {
                Keep(parser.Finish(), count, events);
            }
            return events;
        }

        private void Keep(IReadOnlyList<AssistantDelta> deltas, int count, List<ChoiceEvent> events)
        {
            foreach (var d in deltas)
            {
                _sawCall |= d.ToolCall is not null;
                // With parallel_tool_calls false only the first call is shown, and nothing after it begins.
                if (firstCallOnly && _sawCall && (d.ToolCall is null || d.ToolCall.Index > 0))
                {
                    continue;
                }
                events.Add(new ChoiceEvent(choice, d.Content, d.ToolCall, null, null, count));
            }
        }
    }
}
