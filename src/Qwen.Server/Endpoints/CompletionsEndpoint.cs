using System.Text;
using Qwen.Server.Hosting;
using Qwen.Server.Observability;
using Qwen.Server.Protocol;
using Qwen.Server.Streaming;
using Qwen.Server.Validation;

namespace Qwen.Server.Endpoints;

/// <summary>POST /v1/completions: a raw prompt (text or token ids), no chat template; JSON or server-sent events.</summary>
public static class CompletionsEndpoint
{
    /// <summary>Maps the route.</summary>
    public static void MapCompletions(this IEndpointRouteBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.MapPost("/v1/completions", HandleAsync)
            .WithName("CreateCompletion")
            .WithTags("OpenAI")
            .WithRequestSchema<CompletionRequest>()
            .WithDescription("With \"stream\": true the answer is text/event-stream: data: <text_completion> events, then data: [DONE].")
            .Produces<TextCompletion>()
            .ProducesErrors(400, 404, 413, 429, 503);
    }

    private static Task HandleAsync(HttpContext context, ModelHost model, ServerOptions options, IHostApplicationLifetime lifetime, ILogger<RequestRecord> log)
        => GenerationScope.RunAsync(context, "text_completion", "cmpl-", model, lifetime, log, async (record, cts) =>
        {
            using var body = await RequestBody.ReadAsync(context).ConfigureAwait(false);
            var request = TextRequestValidator.Validate(body.RootElement, model, options);
            var s = request.Settings;
            record.Stream = s.Stream;
            var choices = ChoiceStarter.Start(model, request.PromptTokens, s, ToolChoicePlan.PlainText, true, cts);
            record.Started(request.PromptTokens.Length, s.N);
            var created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
            var echoed = request.Echo ? model.Tokenizer.Decode(request.PromptTokens) : "";
            var promptLogprobs = request.Echo && s.TopLogprobs is not null ? LegacyLogprobs.Prompt(model.Tokenizer, request.PromptTokens) : null;
            var legacy = Enumerable.Range(0, s.N).Select(_ => new LegacyLogprobs(echoed.Length)).ToArray();
            TextCompletion Completion(IReadOnlyList<TextCompletionChoice> c, Usage? usage)
                => new() { Id = record.Id, Created = created, Model = model.Name, SystemFingerprint = GenerationScope.SystemFingerprint, Choices = c, Usage = usage };

            if (s.Stream)
            {
                var sse = new SseWriter(context.Response);
                await GenerationScope.StreamAsync(context, record, sse, async () =>
                {
                    for (var i = 0; i < s.N && request.Echo; i++)
                    {
                        await sse.WriteAsync(Completion([new TextCompletionChoice(echoed, i, promptLogprobs, null)], null), cts.Token).ConfigureAwait(false);
                    }
                    await foreach (var (i, e) in GenerationScope.EventsAsync(record, choices, cts.Token).ConfigureAwait(false))
                    {
                        if (e.IsProgressOnly)
                        {
                            continue;
                        }
                        var logprobs = e.Logprobs is { } lp ? legacy[i].Next(lp) : null;
                        await sse.WriteAsync(Completion([new TextCompletionChoice(e.Content ?? "", i, logprobs, e.FinishReason)], null), cts.Token).ConfigureAwait(false);
                    }
                    if (s.IncludeUsage)
                    {
                        await sse.WriteAsync(Completion([], GenerationScope.Usage(record)), cts.Token).ConfigureAwait(false);
                    }
                    await sse.DoneAsync(cts.Token).ConfigureAwait(false);
                }).ConfigureAwait(false);
                return;
            }

            var text = Enumerable.Range(0, s.N).Select(_ => new StringBuilder(echoed)).ToArray();
            var tokens = Enumerable.Range(0, s.N).Select(_ => new List<ChatCompletionTokenLogprob>()).ToArray();
            await foreach (var (i, e) in GenerationScope.EventsAsync(record, choices, cts.Token).ConfigureAwait(false))
            {
                text[i].Append(e.Content);
                tokens[i].AddRange(e.Logprobs ?? []);
            }
            CompletionLogprobs? Logprobs(int i)
            {
                if (s.TopLogprobs is null)
                {
                    return null;
                }
                var generated = legacy[i].Next(tokens[i]);
                return promptLogprobs is null ? generated : LegacyLogprobs.Concat(promptLogprobs, generated);
            }
            var result = Completion([.. Enumerable.Range(0, s.N).Select(i => new TextCompletionChoice(text[i].ToString(), i, Logprobs(i), record.FinishOf(i) ?? "stop"))], GenerationScope.Usage(record));
            await context.Response.WriteAsJsonAsync(result, WireJson.Options, cts.Token).ConfigureAwait(false);
        });
}
