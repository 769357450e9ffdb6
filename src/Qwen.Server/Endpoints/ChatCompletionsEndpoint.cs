using System.Security.Cryptography;
using System.Text;
using Qwen.Server.Errors;
using Qwen.Server.Hosting;
using Qwen.Server.Observability;
using Qwen.Server.Protocol;
using Qwen.Server.Streaming;
using Qwen.Server.Validation;

namespace Qwen.Server.Endpoints;

/// <summary>POST /v1/chat/completions: JSON or server-sent events.</summary>
public static class ChatCompletionsEndpoint
{
    /// <summary>The fingerprint of this build's serving configuration.</summary>
    public const string SystemFingerprint = "fp_qwen_server_1";

    /// <summary>Maps the route.</summary>
    public static void MapChatCompletions(this IEndpointRouteBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.MapPost("/v1/chat/completions", HandleAsync)
            .WithName("CreateChatCompletion")
            .WithTags("OpenAI")
            
            .Produces<ChatCompletion>()
            .Produces<ErrorResponse>(400);
    }

    internal static string NewId(string prefix) => prefix + RandomNumberGenerator.GetString("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", 29);

    private static async Task HandleAsync(HttpContext context, ModelHost model, ServerOptions options, IHostApplicationLifetime lifetime, ILogger<ModelHost> log)
    {
        var timer = new RequestTimer();
        using var body = await RequestBody.ReadAsync(context).ConfigureAwait(false);
        var request = ChatRequestValidator.Validate(body.RootElement, model, options);
        var s = request.Settings;
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, lifetime.ApplicationStopping);
        var choices = ChoiceStarter.Start(model, request.PromptTokens, s, request.ForcedPrefix, request.ParallelToolCalls, cts);
        var id = NewId("chatcmpl-");
        var created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        ServerMetrics.PromptTokens.Inc(request.PromptTokens.Length * s.N);

        var completion = new int[s.N];
        var finish = new string?[s.N];
        if (s.Stream)
        {
            var sse = new SseWriter(context.Response);
            try
            {
                for (var i = 0; i < s.N; i++)
                {
                    await sse.WriteAsync(Chunk(id, created, model.Name, i, new ChatCompletionDelta("assistant", "", null), null, null), cts.Token).ConfigureAwait(false);
                }
                await foreach (var (i, e) in ChoiceMerger.MergeAsync(choices, cts.Token).ConfigureAwait(false))
                {
                    timer.Observe(i, e.CompletionTokens);
                    completion[i] = e.CompletionTokens;
                    if (e.FinishReason is not null)
                    {
                        finish[i] = e.FinishReason;
                    }
                    var delta = e.Content is not null ? new ChatCompletionDelta(null, e.Content, null)
                        : e.ToolCall is { } t ? new ChatCompletionDelta(null, null, [ToWire(t)])
                        : new ChatCompletionDelta(null, null, null);
                    if (e.Content is null && e.ToolCall is null && e.FinishReason is null && e.Logprob is null)
                    {
                        continue;
                    }
                    var logprobs = e.Logprob is { } lp ? new ChoiceLogprobs([lp]) : null;
                    await sse.WriteAsync(Chunk(id, created, model.Name, i, delta, logprobs, e.FinishReason), cts.Token).ConfigureAwait(false);
                }
                if (s.IncludeUsage)
                {
                    await sse.WriteAsync(new ChatCompletionChunk(id, created, model.Name, SystemFingerprint, [], Usage(request.PromptTokens.Length * s.N, completion)), cts.Token).ConfigureAwait(false);
                }
                await sse.DoneAsync(cts.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (!context.RequestAborted.IsCancellationRequested)
            {
                // The stream has started: the error goes out as one event with the OpenAI body, then the stream ends.
                var api = lifetime.ApplicationStopping.IsCancellationRequested ? new ApiException(503, "the server is shutting down", "server_error", null, "shutting_down") : ErrorMapper.Map(e);
                ServerMetrics.Errors.WithLabels(api.Status.ToString(System.Globalization.CultureInfo.InvariantCulture)).Inc();
                await sse.WriteAsync(ErrorMapper.Body(api), CancellationToken.None).ConfigureAwait(false);
                await sse.DoneAsync(CancellationToken.None).ConfigureAwait(false);
            }
        }
        else
        {
            var content = Enumerable.Range(0, s.N).Select(_ => new StringBuilder()).ToArray();
            var calls = Enumerable.Range(0, s.N).Select(_ => new SortedDictionary<int, (string Id, string Name, StringBuilder Args)>()).ToArray();
            var logprobs = Enumerable.Range(0, s.N).Select(_ => new List<ChatCompletionTokenLogprob>()).ToArray();
            await foreach (var (i, e) in ChoiceMerger.MergeAsync(choices, cts.Token).ConfigureAwait(false))
            {
                timer.Observe(i, e.CompletionTokens);
                completion[i] = e.CompletionTokens;
                finish[i] = e.FinishReason ?? finish[i];
                content[i].Append(e.Content);
                if (e.Logprob is { } lp)
                {
                    logprobs[i].Add(lp);
                }
                if (e.ToolCall is { } t)
                {
                    if (!calls[i].TryGetValue(t.Index, out var call))
                    {
                        calls[i][t.Index] = call = (t.Id!, t.Name!, new StringBuilder());
                    }
                    call.Args.Append(t.Arguments);
                }
            }
            var result = new ChatCompletion(id, created, model.Name, SystemFingerprint, Enumerable.Range(0, s.N).Select(i => new ChatCompletionChoice(
                i,
                new ChatCompletionMessage("assistant", content[i].Length == 0 ? null : content[i].ToString(), calls[i].Count == 0 ? null : calls[i].Select(c => new ChatCompletionMessageToolCall(null, c.Value.Id, "function", new FunctionCall(c.Value.Name, c.Value.Args.ToString()))).ToList()),
                s.TopLogprobs is null ? null : new ChoiceLogprobs(logprobs[i]),
                finish[i] ?? "stop")).ToList(), Usage(request.PromptTokens.Length * s.N, completion));
            await context.Response.WriteAsJsonAsync(result, WireJson.Options, cts.Token).ConfigureAwait(false);
        }
        var ms = timer.Finish();
        foreach (var f in finish)
        {
            ServerMetrics.Finished.WithLabels(f ?? "cancelled").Inc();
        }
        ServerMetrics.GenerationTokens.Inc(completion.Sum());
        log.LogInformation(
            "chat.completion {RequestId} model={Model} prompt_tokens={PromptTokens} completion_tokens={CompletionTokens} ttft_ms={TtftMs:F1} duration_ms={DurationMs:F1} finish={Finish} stream={Stream}",
            id, model.Name, request.PromptTokens.Length, completion.Sum(), timer.TimeToFirstTokenMs ?? 0, ms, string.Join(",", finish), s.Stream);
    }

    internal static Usage Usage(int prompt, int[] completion) => new(prompt, completion.Sum(), prompt + completion.Sum());

    private static ChatCompletionChunk Chunk(string id, long created, string model, int index, ChatCompletionDelta delta, ChoiceLogprobs? logprobs, string? finish)
        => new(id, created, model, SystemFingerprint, [new ChatCompletionChunkChoice(index, delta, logprobs, finish)], null);

    private static ChatCompletionMessageToolCall ToWire(Tokenization.ToolCalls.ToolCallDelta t)
        => t.Id is not null
            ? new ChatCompletionMessageToolCall(t.Index, t.Id, "function", new FunctionCall(t.Name, ""))
            : new ChatCompletionMessageToolCall(t.Index, null, null, new FunctionCall(null, t.Arguments));
}
