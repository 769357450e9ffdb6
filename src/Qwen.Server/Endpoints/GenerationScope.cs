using System.Security.Cryptography;
using Qwen.Server.Errors;
using Qwen.Server.Hosting;
using Qwen.Server.Observability;
using Qwen.Server.Protocol;
using Qwen.Server.Streaming;

namespace Qwen.Server.Endpoints;

/// <summary>
/// What chat and text completions share around their own work: the request's id and <see cref="RequestRecord"/> (always
/// written, in a finally), a token cancelled by a client disconnect or by the server stopping, and the rule for failures:
/// before the response started the error middleware answers with JSON; after an SSE stream started the error is one
/// <c>data:</c> event with the same body (from the same table), then <c>[DONE]</c>; a client that went away gets nothing.
/// </summary>
internal static class GenerationScope
{
    /// <summary>The fingerprint of this build's serving configuration.</summary>
    public const string SystemFingerprint = "fp_qwen_server_1";

    public static string NewId(string prefix) => prefix + RandomNumberGenerator.GetString("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", 29);

    /// <summary>Runs <paramref name="handle"/> with the request's record and cancellation source; records how it ended.</summary>
    public static async Task RunAsync(HttpContext context, string kind, string idPrefix, ModelHost model, IHostApplicationLifetime lifetime, ILogger log, Func<RequestRecord, CancellationTokenSource, Task> handle)
    {
        var record = RequestRecord.Begin(context, kind, NewId(idPrefix));
        record.Model = model.Name;
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, lifetime.ApplicationStopping);
        try
        {
            await handle(record, cts).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            record.Fail(e, context);
            throw; // the error middleware answers with JSON, or (client gone) with nothing
        }
        finally
        {
            record.Write(log, context);
        }
    }

    /// <summary>Runs a stream's writes; a failure once the stream started ends it with one error event and [DONE].</summary>
    public static async Task StreamAsync(HttpContext context, RequestRecord record, SseWriter sse, Func<Task> write)
    {
        try
        {
            await write().ConfigureAwait(false);
        }
        catch (Exception e) when (sse.Started && !context.RequestAborted.IsCancellationRequested)
        {
            if (record.Fail(e, context) is not { } api)
            {
                throw; // the client went away meanwhile: nobody to tell
            }
            await sse.WriteAsync(ErrorMapper.Respond(api), CancellationToken.None).ConfigureAwait(false);
            await sse.DoneAsync(CancellationToken.None).ConfigureAwait(false);
        }
    }

    /// <summary>The choices' events as they come, tagged with the choice index, after the record has seen them (tokens, finish).</summary>
    public static async IAsyncEnumerable<(int Index, ChoiceEvent Event)> EventsAsync(RequestRecord record, IReadOnlyList<IAsyncEnumerable<ChoiceEvent>> choices, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct)
    {
        await foreach (var (i, e) in ChoiceMerger.MergeAsync(choices, ct).ConfigureAwait(false))
        {
            record.Observe(i, e.CompletionTokens);
            if (e.FinishReason is { } finish)
            {
                record.Finish(i, finish);
            }
            yield return (i, e);
        }
    }

    /// <summary>Usage as OpenAI and vLLM count it: the prompt once, completion tokens summed over the choices.</summary>
    public static Usage Usage(RequestRecord record) => new(record.PromptTokens ?? 0, record.CompletionTokens, (record.PromptTokens ?? 0) + record.CompletionTokens);
}
