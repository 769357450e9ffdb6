using System.Runtime.CompilerServices;
using Qwen.Inference.Engine;
using Qwen.Inference.Sampling;
using Qwen.Server.Hosting;
using Qwen.Server.Protocol;
using Qwen.Tokenization.Streaming;
using Qwen.Tokenization.ToolCalls;

namespace Qwen.Server.Streaming;

/// <summary>
/// Assembles one choice from the engine's token ids: detokenize (special tokens skipped) → stop strings → tool-call
/// parser → events. The same events feed JSON answers and SSE streams, so both say the same thing.
/// </summary>
internal static class ChoiceGenerator
{
    /// <summary>
    /// Queues the sequence now (so overload and context errors are thrown before any response is written) and returns its events.
    /// Stopping the enumeration early cancels the sequence.
    /// </summary>
    public static IAsyncEnumerable<ChoiceEvent> Start(ModelHost model, int[] prompt, SamplingParams sampling, int maxTokens, IReadOnlyList<string> stops, string? forcedPrefix, bool parallelToolCalls, int? topLogprobs, bool ignoreEos, CancellationToken ct)
    {
        var tokens = model.Engine.GenerateAsync(new GenerationRequest(prompt, sampling with { TopLogprobs = topLogprobs }, maxTokens, ignoreEos ? [] : model.Defaults.EosTokenIds), ct);
        return Run(model, tokens, stops, forcedPrefix, parallelToolCalls, topLogprobs is not null, ct);
    }

    private static async IAsyncEnumerable<ChoiceEvent> Run(ModelHost model, IAsyncEnumerable<GeneratedToken> tokens, IReadOnlyList<string> stops, string? forcedPrefix, bool parallelToolCalls, bool logprobs, [EnumeratorCancellation] CancellationToken ct)
    {
        var detokenizer = model.Tokenizer.CreateDetokenizer(skipSpecialTokens: true);
        var stopper = new StopStringMatcher(stops);
        StreamingToolCallParser? parser = null;
        if (forcedPrefix is not null)
        {
            parser = new StreamingToolCallParser();
            if (forcedPrefix.Length > 0)
            {
                parser.Push(forcedPrefix); // markup only: it opens a block, so nothing comes out yet
            }
        }
        var count = 0;
        string? finish = null;
        var cut = false; // a stop string or the first call (parallel_tool_calls false) ended the choice: nothing after it is shown
        await foreach (var token in tokens.WithCancellation(ct).ConfigureAwait(false))
        {
            count++;
            var (text, stopped) = stopper.Push(detokenizer.Push(token.TokenId));
            if (logprobs)
            {
                yield return new ChoiceEvent(null, null, Logprob(model, token), null, count);
            }
            foreach (var e in Deltas(parser, text, count))
            {
                yield return e;
            }
            if (stopped)
            {
                finish = "stop";
                cut = true;
                break; // leaving the loop disposes the engine's enumerator, which frees the slot
            }
            if (parser is { HasToolCalls: true } && !parallelToolCalls)
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
            foreach (var e in Deltas(parser, rest + stopper.Flush(), count))
            {
                yield return e;
            }
        }
        if (parser is not null && !(cut && finish == "tool_calls"))
        {
            foreach (var d in parser.Finish())
            {
                yield return new ChoiceEvent(d.Content, d.ToolCall, null, null, count);
            }
        }
        if (parser is { HasToolCalls: true } && finish == "stop")
        {
            finish = "tool_calls";
        }
        yield return new ChoiceEvent(null, null, null, finish ?? "stop", count);
    }

    private static IEnumerable<ChoiceEvent> Deltas(StreamingToolCallParser? parser, string text, int count)
    {
        if (text.Length == 0)
        {
            yield break;
        }
        if (parser is null)
        {
            yield return new ChoiceEvent(text, null, null, null, count);
            yield break;
        }
        foreach (var d in parser.Push(text))
        {
            yield return new ChoiceEvent(d.Content, d.ToolCall, null, null, count);
        }
    }

    private static ChatCompletionTokenLogprob Logprob(ModelHost model, GeneratedToken token)
    {
        TopLogprob Top(TokenLogprob t) => new(model.Tokenizer.Decode([t.TokenId]), t.Logprob, model.Tokenizer.TokenBytes(t.TokenId).ToArray().Select(b => (int)b).ToList());
        return new ChatCompletionTokenLogprob(
            model.Tokenizer.Decode([token.TokenId]),
            token.Logprob ?? 0,
            model.Tokenizer.TokenBytes(token.TokenId).ToArray().Select(b => (int)b).ToList(),
            token.TopLogprobs?.Select(Top).ToList() ?? []);
    }
}
