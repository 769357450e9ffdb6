using System.Security.Cryptography;
using System.Text.Json;
using Qwen.Server.Errors;
using Qwen.Server.Generation;
using Qwen.Server.Hosting;
using Qwen.Server.Observability;
using Qwen.Server.Protocol;
using Qwen.Server.Validation;

namespace Qwen.Server.Endpoints;

/// <summary>
/// The one skeleton every generation endpoint runs; the endpoint brings only its validator and its
/// <see cref="IGenerationMapper"/>. It reads and validates the body, runs the <see cref="GenerationPipeline"/>, and writes
/// a stream (the mapper's opening events, its events for each choice event, its closing events such as the usage chunk,
/// then [DONE] when the format has it; <c>: keep-alive</c> comments while nothing was written for a while) or the whole
/// answer. The request's id and <see cref="RequestRecord"/> (always written, in a finally) and a token cancelled by a
/// client disconnect or by the server stopping live here, and so does the rule for failures, mapped once by
/// <see cref="ErrorMapper"/>: before the response started the answer is the JSON error; after an SSE stream started it is
/// the mapper's failure event with the same body (then <c>[DONE]</c> when the format has it); a client that went away
/// gets nothing. A client too slow to take the stream (an event not taken within SseWriteTimeout: the writer aborted
/// the connection) gets nothing either; one that fell MaxClientLag tokens behind gets the tokens buffered for it, then
/// the error event. Both are logged as 408 client_too_slow.
/// </summary>
internal static class GenerationEndpoint
{
    /// <summary>The fingerprint of this build's serving configuration.</summary>
    public const string SystemFingerprint = "fp_qwen_server_1";

    /// <summary>
    /// Runs one request of <paramref name="kind"/>; <paramref name="prepare"/> validates the body, renders and tokenizes
    /// its prompt (cancelled by the token it is given) and makes the request's mapper, in a <see cref="PromptWorkLimiter"/> slot.
    /// </summary>
    public static async Task RunAsync(HttpContext context, string kind, string idPrefix, ModelHost model, IHostApplicationLifetime lifetime, ILogger log, Func<JsonElement, ResponseHeader, CancellationToken, (GenerationPlan Plan, IGenerationMapper Mapper)> prepare)
    {
        var header = new ResponseHeader(NewId(idPrefix), DateTimeOffset.UtcNow.ToUnixTimeSeconds(), model.Name);
        var record = RequestRecord.Begin(context, kind, header.Id);
        record.Model = model.Name;
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, lifetime.ApplicationStopping);
        SseWriter? sse = null;
        IGenerationMapper? mapper = null;
        try
        {
            using var body = await RequestBody.ReadAsync(context).ConfigureAwait(false);
            (var plan, mapper) = await context.RequestServices.GetRequiredService<PromptWorkLimiter>().RunAsync(() => prepare(body.RootElement, header, cts.Token), cts.Token).ConfigureAwait(false);
            record.Stream = plan.Stream;
            var pipeline = GenerationPipeline.Start(model, plan, record, cts);
            if (plan.Stream)
            {
                var writeTimeout = TimeSpan.FromSeconds(context.RequestServices.GetService<ServerOptions>()?.SseWriteTimeout ?? new ServerOptions().SseWriteTimeout);
                sse = new SseWriter(context.Response, context.RequestServices.GetService<SseKeepAlive>()?.Interval ?? SseKeepAlive.DefaultInterval, writeTimeout);
                await StreamAsync(sse, pipeline, mapper, cts.Token).ConfigureAwait(false);
            }
            else
            {
                var choices = await pipeline.CompleteAsync(cts.Token).ConfigureAwait(false);
                await context.Response.WriteAsJsonAsync(mapper.Whole(choices, Usage(pipeline)), WireJson.Options, cts.Token).ConfigureAwait(false);
            }
        }
        catch (SseWriteTimeoutException e)
        {
            // The writer aborted the connection (its generation is cancelled with it): nothing more can be sent.
            record.Fail(StatusCodes.Status408RequestTimeout, RequestRecord.ClientTooSlowCode, e);
        }
        catch (Exception e) when (!context.RequestAborted.IsCancellationRequested && (sse is { Started: true } || !context.Response.HasStarted))
        {
            var api = ErrorMapper.Map(e, context);
            record.Fail(api.Status, api.Code ?? api.Type, e, api.Param);
            if (sse is { Started: true } && mapper is not null)
            {
                try
                {
                    await sse.WriteAsync(mapper.Failure(ErrorMapper.Respond(api)), CancellationToken.None).ConfigureAwait(false);
                    if (mapper.SendsDone)
                    {
                        await sse.DoneAsync(CancellationToken.None).ConfigureAwait(false);
                    }
                }
                catch (SseWriteTimeoutException)
                {
                    // Not even the error event was taken; the connection is aborted and the record keeps the failure.
                }
            }
            else
            {
                await ErrorMapper.WriteAsync(context, api).ConfigureAwait(false);
            }
        }
        catch (Exception) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client went away: nobody to tell. The record logs it as such (499, finish cancelled).
        }
        finally
        {
            record.Write(log, context);
        }
    }

    private static async Task StreamAsync(SseWriter sse, GenerationPipeline pipeline, IGenerationMapper mapper, CancellationToken ct)
    {
        foreach (var chunk in mapper.Opening())
        {
            await sse.WriteAsync(chunk, ct).ConfigureAwait(false);
        }
        var events = pipeline.EventsAsync(ct).GetAsyncEnumerator(ct);
        await using (events.ConfigureAwait(false))
        {
            while (await sse.NextAsync(events.MoveNextAsync(), ct).ConfigureAwait(false))
            {
                foreach (var chunk in mapper.Chunk(events.Current))
                {
                    await sse.WriteAsync(chunk, ct).ConfigureAwait(false);
                }
            }
        }
        foreach (var chunk in mapper.Closing(Usage(pipeline)))
        {
            await sse.WriteAsync(chunk, ct).ConfigureAwait(false);
        }
        if (mapper.SendsDone)
        {
            await sse.DoneAsync(ct).ConfigureAwait(false);
        }
    }

    /// <summary>A random id: <paramref name="prefix"/> and 29 letters and digits.</summary>
    public static string NewId(string prefix) => prefix + RandomNumberGenerator.GetString("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", 29);

    /// <summary>
    /// Usage as OpenAI and vLLM count it: the prompt once, completion tokens summed over the choices, and the prompt's
    /// cached tokens once (those of the first choice, which prefills the prompt; the others copy it from that choice).
    /// </summary>
    private static Usage Usage(GenerationPipeline pipeline)
        => new(pipeline.PromptTokens, pipeline.CompletionTokens, pipeline.PromptTokens + pipeline.CompletionTokens, new PromptTokensDetails(pipeline.CachedTokens));
}
