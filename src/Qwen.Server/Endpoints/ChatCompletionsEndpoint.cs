using System.Text;
using Qwen.Server.Hosting;
using Qwen.Server.Observability;
using Qwen.Server.Protocol;
using Qwen.Server.Streaming;
using Qwen.Server.Validation;
using Qwen.Tokenization.ToolCalls;

namespace Qwen.Server.Endpoints;

/// <summary>POST /v1/chat/completions: JSON or server-sent events.</summary>
public static class ChatCompletionsEndpoint
{
    /// <summary>Maps the route.</summary>
    public static void MapChatCompletions(this IEndpointRouteBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.MapPost("/v1/chat/completions", HandleAsync)
            .WithName("CreateChatCompletion")
            .WithTags("OpenAI")
            .WithRequestSchema<ChatCompletionRequest>()
            .WithDescription("With \"stream\": true the answer is text/event-stream: data: <chat.completion.chunk> events, then data: [DONE].")
            .Produces<ChatCompletion>()
            .ProducesErrors(400, 404, 413, 429, 503);
    }

    private static Task HandleAsync(HttpContext context, ModelHost model, ServerOptions options, IHostApplicationLifetime lifetime, ILogger<RequestRecord> log)
        => GenerationScope.RunAsync(context, "chat.completion", "chatcmpl-", model, lifetime, log, async (record, cts) =>
        {
            using var body = await RequestBody.ReadAsync(context).ConfigureAwait(false);
            var request = ChatRequestValidator.Validate(body.RootElement, model, options);
            record.Stream = request.Settings.Stream;
            var choices = ChoiceStarter.Start(model, request.PromptTokens, request.Settings, request.ToolChoice, request.ParallelToolCalls, cts);
            record.Started(request.PromptTokens.Length, request.Settings.N);
            var created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
            if (request.Settings.Stream)
            {
                await StreamAsync(context, record, model, request.Settings, choices, created, cts.Token).ConfigureAwait(false);
            }
            else
            {
                await WholeAsync(context, record, model, request.Settings, choices, created, cts.Token).ConfigureAwait(false);
            }
        });

    private static Task StreamAsync(HttpContext context, RequestRecord record, ModelHost model, GenerationSettings s, List<IAsyncEnumerable<ChoiceEvent>> choices, long created, CancellationToken ct)
    {
        var sse = new SseWriter(context.Response);
        ChatCompletionChunk Chunk(IReadOnlyList<ChatCompletionChunkChoice> c, Usage? usage = null)
            => new() { Id = record.Id, Created = created, Model = model.Name, SystemFingerprint = GenerationScope.SystemFingerprint, Choices = c, Usage = usage };
        return GenerationScope.StreamAsync(context, record, sse, async () =>
        {
            for (var i = 0; i < s.N; i++)
            {
                await sse.WriteAsync(Chunk([new ChatCompletionChunkChoice(i, new ChatCompletionDelta("assistant", "", null), null, null)]), ct).ConfigureAwait(false);
            }
            await foreach (var (i, e) in GenerationScope.EventsAsync(record, choices, ct).ConfigureAwait(false))
            {
                if (e.IsProgressOnly)
                {
                    continue;
                }
                var delta = new ChatCompletionDelta(null, e.Content, e.ToolCall is { } t ? [ToWire(t)] : null);
                var logprobs = e.Logprobs is { } lp ? new ChoiceLogprobs(lp) : null;
                await sse.WriteAsync(Chunk([new ChatCompletionChunkChoice(i, delta, logprobs, e.FinishReason)]), ct).ConfigureAwait(false);
            }
            if (s.IncludeUsage)
            {
                await sse.WriteAsync(Chunk([], GenerationScope.Usage(record)), ct).ConfigureAwait(false);
            }
            await sse.DoneAsync(ct).ConfigureAwait(false);
        });
    }

    private static async Task WholeAsync(HttpContext context, RequestRecord record, ModelHost model, GenerationSettings s, List<IAsyncEnumerable<ChoiceEvent>> choices, long created, CancellationToken ct)
    {
        var content = Enumerable.Range(0, s.N).Select(_ => new StringBuilder()).ToArray();
        var calls = Enumerable.Range(0, s.N).Select(_ => new SortedDictionary<int, (string Id, string Name, StringBuilder Args)>()).ToArray();
        var logprobs = Enumerable.Range(0, s.N).Select(_ => new List<ChatCompletionTokenLogprob>()).ToArray();
        await foreach (var (i, e) in GenerationScope.EventsAsync(record, choices, ct).ConfigureAwait(false))
        {
            content[i].Append(e.Content);
            logprobs[i].AddRange(e.Logprobs ?? []);
            if (e.ToolCall is { } t)
            {
                if (!calls[i].TryGetValue(t.Index, out var call))
                {
                    calls[i][t.Index] = call = (t.Id!, t.Name!, new StringBuilder());
                }
                call.Args.Append(t.Arguments);
            }
        }
        var result = new ChatCompletion
        {
            Id = record.Id,
            Created = created,
            Model = model.Name,
            SystemFingerprint = GenerationScope.SystemFingerprint,
            Choices = [.. Enumerable.Range(0, s.N).Select(i => new ChatCompletionChoice(
                i,
                new ChatCompletionMessage(
                    "assistant",
                    content[i].Length == 0 ? null : content[i].ToString(),
                    calls[i].Count == 0 ? null : [.. calls[i].Values.Select(c => new ChatCompletionMessageToolCall(null, c.Id, "function", new FunctionCall(c.Name, c.Args.ToString())))]),
                s.TopLogprobs is null ? null : new ChoiceLogprobs(logprobs[i]),
                record.FinishOf(i) ?? "stop"))],
            Usage = GenerationScope.Usage(record),
        };
        await context.Response.WriteAsJsonAsync(result, WireJson.Options, ct).ConfigureAwait(false);
    }

    // The first piece of a call carries its id, type and name (and any arguments already parsed); later pieces only arguments.
    private static ChatCompletionMessageToolCall ToWire(ToolCallDelta t)
        => t.Id is not null
            ? new ChatCompletionMessageToolCall(t.Index, t.Id, "function", new FunctionCall(t.Name, t.Arguments ?? ""))
            : new ChatCompletionMessageToolCall(t.Index, null, null, new FunctionCall(null, t.Arguments));
}
