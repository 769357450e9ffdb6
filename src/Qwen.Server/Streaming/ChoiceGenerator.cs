using System.Runtime.CompilerServices;
using Qwen.Inference.Engine;
using Qwen.Inference.Sampling;
using Qwen.Server.Hosting;
using Qwen.Server.Protocol;
using Qwen.Server.Validation;
using Qwen.Tokenization.ToolCalls;

namespace Qwen.Server.Streaming;

/// <summary>
/// Assembles one choice from the engine's token ids: detokenize (special tokens skipped) → stop strings → tool-call
/// parser (only when <see cref="ToolChoicePlan.ParseToolCalls"/>) → events. The same events feed JSON answers and SSE
/// streams, so both say the same thing. Logprobs ride on the first event that carries text of their tokens; those of
/// tokens never shown ride on the finish event, so a stream and a whole answer list the same tokens.
/// With parallel_tool_calls false the choice ends once the first call is complete — once its closing &lt;/tool_call&gt;
/// has been parsed, which holds whether the parser emits a call whole or streams its arguments — and nothing after it is
/// shown.
/// </summary>
internal static class ChoiceGenerator
{
    private const string CloseTag = "</tool_call>";

    /// <summary>
    /// Queues the sequence now (so overload and context errors are thrown before any response is written) and returns its events.
    /// Stopping the enumeration early cancels the sequence.
    /// </summary>
    public static IAsyncEnumerable<ChoiceEvent> Start(ModelHost model, int[] prompt, SamplingParams sampling, GenerationSettings settings, ToolChoicePlan plan, bool parallelToolCalls, CancellationToken ct)
    {
        // A grammar ends only at a stop token, so a constrained choice keeps the model's stop ids even with ignore_eos.
        var constraint = settings.Grammar?.Invoke();
        var stopIds = settings.IgnoreEos && constraint is null ? [] : model.Defaults.EosTokenIds;
        var request = new GenerationRequest(prompt, sampling with { TopLogprobs = settings.TopLogprobs }, settings.MaxTokens, stopIds) { Constraint = constraint };
        var tokens = model.Engine.GenerateAsync(request, ct);
        return Run(model, tokens, settings, plan, parallelToolCalls, ct);
    }

    private static async IAsyncEnumerable<ChoiceEvent> Run(ModelHost model, IAsyncEnumerable<GeneratedToken> tokens, GenerationSettings settings, ToolChoicePlan plan, bool parallelToolCalls, [EnumeratorCancellation] CancellationToken ct)
    {
        var detokenizer = model.Tokenizer.CreateDetokenizer(skipSpecialTokens: true);
        var stopper = new Tokenization.Streaming.StopStringMatcher(settings.Stops);
        var output = new Output(plan.ParseToolCalls ? new StreamingToolCallParser() : null, !parallelToolCalls);
        List<ChatCompletionTokenLogprob>? pending = settings.TopLogprobs is null ? null : [];
        var count = 0;
        if (plan.ParseToolCalls && plan.PromptPrefix.Length > 0)
        {
            // The prefix opened the call in the prompt; the parser must see it too (a streaming parser may emit the name now).
            foreach (var e in output.Push(plan.PromptPrefix, 0))
            {
                yield return e;
            }
        }
        string? finish = null;
        var cut = false; // a stop string or the first call (parallel_tool_calls false) ended the choice: nothing after it is shown
        await foreach (var token in tokens.WithCancellation(ct).ConfigureAwait(false))
        {
            count++;
            pending?.Add(Logprob(model, token));
            var (text, stopped) = stopper.Push(detokenizer.Push(token.TokenId));
            var shown = false;
            foreach (var e in output.Push(text, count))
            {
                yield return Attach(e, ref pending);
                shown = true;
            }
            if (!shown)
            {
                yield return new ChoiceEvent(null, null, null, null, count);
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
        yield return new ChoiceEvent(null, null, pending is { Count: > 0 } ? pending : null, finish ?? "stop", count);
    }

    private static ChoiceEvent Attach(ChoiceEvent e, ref List<ChatCompletionTokenLogprob>? pending)
    {
        if (pending is not { Count: > 0 })
        {
            return e;
        }
        var attached = e with { Logprobs = pending };
        pending = [];
        return attached;
    }

    private static ChatCompletionTokenLogprob Logprob(ModelHost model, GeneratedToken token)
    {
        TopLogprob Top(TokenLogprob t) => new(model.Tokenizer.Decode([t.TokenId]), t.Logprob, Bytes(model, t.TokenId));
        return new ChatCompletionTokenLogprob(model.Tokenizer.Decode([token.TokenId]), token.Logprob ?? 0, Bytes(model, token.TokenId), token.TopLogprobs?.Select(Top).ToList() ?? []);
    }

    private static List<int> Bytes(ModelHost model, int id) => [.. model.Tokenizer.TokenBytes(id).ToArray().Select(b => (int)b)];

    /// <summary>The choice's visible output: plain text, or text through the tool-call parser, cut after the first call when asked.</summary>
    private sealed class Output(StreamingToolCallParser? parser, bool firstCallOnly)
    {
        private string _tail = ""; // the end of the text parsed so far, to find a close tag split across pushes
        private int _closes;
        private int? _closesBeforeFirstCall;
        private bool _sawCall;

        public bool HasToolCalls => parser?.HasToolCalls ?? false;

        /// <summary>With parallel_tool_calls false: a close tag came after the first call began, so that call is whole.</summary>
        public bool FirstCallComplete => firstCallOnly && _closesBeforeFirstCall is { } k && _closes > k;

        public List<ChoiceEvent> Push(string text, int count)
        {
            var events = new List<ChoiceEvent>();
            if (text.Length == 0)
            {
                return events;
            }
            if (parser is null)
            {
                events.Add(new ChoiceEvent(text, null, null, null, count));
                return events;
            }
            var closesBefore = _closes;
            if (firstCallOnly) // only FirstCallComplete reads the count
            {
                var scan = _tail + text;
                for (var at = scan.IndexOf(CloseTag, StringComparison.Ordinal); at >= 0; at = scan.IndexOf(CloseTag, at + CloseTag.Length, StringComparison.Ordinal))
                {
                    _closes++;
                }
                _tail = scan.Length < CloseTag.Length ? scan : scan[^(CloseTag.Length - 1)..];
            }
            var deltas = parser.Push(text);
            if (_closesBeforeFirstCall is null && parser.HasToolCalls)
            {
                _closesBeforeFirstCall = closesBefore;
            }
            Keep(deltas, count, events);
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
                events.Add(new ChoiceEvent(d.Content, d.ToolCall, null, null, count));
            }
        }
    }
}
