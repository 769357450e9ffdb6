using System.Runtime.CompilerServices;
using Qwen.Inference.Engine;
using Qwen.Server.Hosting;
using Qwen.Server.Observability;
using Qwen.Server.Validation;
using Qwen.Tokenization.ToolCalls;

namespace Qwen.Server.Generation;

/// <summary>
/// The one generation pipeline every endpoint runs: starts the n choices of a validated request (all or none), merges
/// their events, tells the request's record (tokens, time to first token, finish reasons) and accumulates each choice's
/// text, tool calls, tokens with their logprobs and finish reason. Endpoints only map what it yields to their wire
/// objects: <see cref="EventsAsync"/> for a stream, <see cref="CompleteAsync"/> for a whole answer (only it keeps the
/// output, so a stream holds nothing per token). One per request.
/// </summary>
internal sealed class GenerationPipeline
{
    private readonly IReadOnlyList<IAsyncEnumerable<ChoiceEvent>> _choices;
    private readonly RequestRecord _record;
    private readonly AssistantMessageBuilder[] _messages;
    private readonly List<GeneratedToken>[] _tokens;
    private readonly string?[] _finish;
    private readonly int[] _counts;
    private readonly TokenStream _first;

    private GenerationPipeline(IReadOnlyList<IAsyncEnumerable<ChoiceEvent>> choices, TokenStream first, int promptTokens, RequestRecord record)
    {
        _first = first;
        _choices = choices;
        _record = record;
        PromptTokens = promptTokens;
        _messages = [.. choices.Select(_ => new AssistantMessageBuilder())];
        _tokens = [.. choices.Select(_ => new List<GeneratedToken>())];
        _finish = new string?[choices.Count];
        _counts = new int[choices.Count];
    }

    /// <summary>Prompt tokens, counted once whatever n is.</summary>
    public int PromptTokens { get; }

    /// <summary>Prompt tokens the first choice took from the prefix cache (final once it has produced a token).</summary>
    public int CachedTokens => _first.CachedTokens;

    /// <summary>Tokens generated so far, summed over the choices.</summary>
    public int CompletionTokens => _counts.Sum();

    /// <summary>
    /// Queues every choice of <paramref name="plan"/> now, so overload and context errors are thrown before anything is
    /// written; a failure cancels the choices already queued (<paramref name="cts"/>).
    /// </summary>
    public static GenerationPipeline Start(ModelHost model, GenerationPlan plan, RequestRecord record, CancellationTokenSource cts)
    {
        var choices = new List<IAsyncEnumerable<ChoiceEvent>>();
        var tokens = new List<TokenStream>();
        try
        {
            for (var i = 0; i < plan.N; i++)
            {
                var (events, stream) = ChoiceGenerator.Start(model, plan, i, cts.Token);
                choices.Add(events);
                tokens.Add(stream);
            }
        }
        catch
        {
            cts.Cancel();
            throw;
        }
        // The record counts what the engine generated, not what the client took: a reader that stops early still cost them.
        record.Started(plan.Request.PromptTokens.Length, plan.N, i => tokens[i].Generated);
        return new GenerationPipeline(choices, tokens[0], plan.Request.PromptTokens.Length, record);
    }

    /// <summary>The choices' events with something to send, as they come; progress reaches the record only.</summary>
    public IAsyncEnumerable<ChoiceEvent> EventsAsync(CancellationToken ct) => Events(accumulate: false, ct);

    /// <summary>Runs every choice to its end and returns what each produced.</summary>
    public async Task<IReadOnlyList<ChoiceResult>> CompleteAsync(CancellationToken ct)
    {
        await foreach (var _ in Events(accumulate: true, ct).ConfigureAwait(false))
        {
        }
        return [.. _messages.Select((m, i) => new ChoiceResult(m.Build(), _tokens[i], _finish[i] ?? "stop"))];
    }

    // A stream's text and tokens are sent as they come, so only a whole answer keeps them (a long stream holds nothing).
    private async IAsyncEnumerable<ChoiceEvent> Events(bool accumulate, [EnumeratorCancellation] CancellationToken ct)
    {
        await foreach (var e in ChoiceMerger.MergeAsync(_choices, ct).ConfigureAwait(false))
        {
            var i = e.Choice;
            _record.Observe(i, e.CompletionTokens);
            _counts[i] = e.CompletionTokens;
            if (accumulate)
            {
                _messages[i].Add(e.Content, e.ToolCall);
                _tokens[i].AddRange(e.Tokens ?? []);
            }
            if (e.Finish is { } finish)
            {
                _finish[i] = finish;
                _record.Finish(i, finish);
            }
            if (!e.IsProgressOnly)
            {
                yield return e;
            }
        }
    }
}
