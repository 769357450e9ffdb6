using System.Text;
using System.Text.Json;
using Qwen.Server.Errors;
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
        app.MapPost("/v1/completions", HandleAsync).WithName("CreateCompletion").WithTags("OpenAI").Produces<TextCompletion>().Produces<ErrorResponse>(400);
    }

    private static async Task HandleAsync(HttpContext context, ModelHost model, ServerOptions options, IHostApplicationLifetime lifetime, ILogger<ModelHost> log)
    {
        var timer = new RequestTimer();
        using var body = await RequestBody.ReadAsync(context).ConfigureAwait(false);
        var root = body.RootElement;
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw ApiException.BadRequest("the request body must be a JSON object");
        }
        var prompt = Prompt(root, model);
        var s = RequestValidator.Common(root, model, options, prompt.Length, chat: false);
        var echo = JsonFields.Bool(root, "echo") ?? false;
        var logprobs = JsonFields.Int(root, "logprobs", 0, 5);
        s = s with { TopLogprobs = logprobs };
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, lifetime.ApplicationStopping);
        var choices = ChoiceStarter.Start(model, prompt, s, null, true, cts);
        var id = ChatCompletionsEndpoint.NewId("cmpl-");
        var created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var echoed = echo ? model.Tokenizer.Decode(prompt) : "";
        ServerMetrics.PromptTokens.Inc(prompt.Length * s.N);

        var text = Enumerable.Range(0, s.N).Select(_ => new StringBuilder(echoed)).ToArray();
        var lps = Enumerable.Range(0, s.N).Select(_ => new List<ChatCompletionTokenLogprob>()).ToArray();
        var completion = new int[s.N];
        var finish = new string?[s.N];
        var sse = s.Stream ? new SseWriter(context.Response) : null;
        try
        {
            if (sse is not null && echo)
            {
                for (var i = 0; i < s.N; i++)
                {
                    await sse.WriteAsync(new TextCompletion(id, created, model.Name, ChatCompletionsEndpoint.SystemFingerprint, [new TextCompletionChoice(i, echoed, null, null)], null), cts.Token).ConfigureAwait(false);
                }
            }
            await foreach (var (i, e) in ChoiceMerger.MergeAsync(choices, cts.Token).ConfigureAwait(false))
            {
                timer.Observe(i, e.CompletionTokens);
                completion[i] = e.CompletionTokens;
                finish[i] = e.FinishReason ?? finish[i];
                if (e.Logprob is { } lp)
                {
                    lps[i].Add(lp);
                }
                if (sse is not null && (e.Content is not null || e.FinishReason is not null))
                {
                    await sse.WriteAsync(new TextCompletion(id, created, model.Name, ChatCompletionsEndpoint.SystemFingerprint, [new TextCompletionChoice(i, e.Content ?? "", null, e.FinishReason)], null), cts.Token).ConfigureAwait(false);
                }
                text[i].Append(e.Content);
            }
            if (sse is not null)
            {
                if (s.IncludeUsage)
                {
                    await sse.WriteAsync(new TextCompletion(id, created, model.Name, ChatCompletionsEndpoint.SystemFingerprint, [], ChatCompletionsEndpoint.Usage(prompt.Length * s.N, completion)), cts.Token).ConfigureAwait(false);
                }
                await sse.DoneAsync(cts.Token).ConfigureAwait(false);
            }
            else
            {
                var result = new TextCompletion(id, created, model.Name, ChatCompletionsEndpoint.SystemFingerprint, Enumerable.Range(0, s.N).Select(i => new TextCompletionChoice(i, text[i].ToString(), logprobs is null ? null : Legacy(lps[i], echoed.Length), finish[i] ?? "stop")).ToList(), ChatCompletionsEndpoint.Usage(prompt.Length * s.N, completion));
                await context.Response.WriteAsJsonAsync(result, WireJson.Options, cts.Token).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (sse is { Started: true } && !context.RequestAborted.IsCancellationRequested)
        {
            var api = ErrorMapper.Map(e);
            await sse.WriteAsync(ErrorMapper.Body(api), CancellationToken.None).ConfigureAwait(false);
            await sse.DoneAsync(CancellationToken.None).ConfigureAwait(false);
        }
        var ms = timer.Finish();
        ServerMetrics.GenerationTokens.Inc(completion.Sum());
        foreach (var f in finish)
        {
            ServerMetrics.Finished.WithLabels(f ?? "cancelled").Inc();
        }
        log.LogInformation("text.completion {RequestId} model={Model} prompt_tokens={PromptTokens} completion_tokens={CompletionTokens} ttft_ms={TtftMs:F1} duration_ms={DurationMs:F1} finish={Finish}", id, model.Name, prompt.Length, completion.Sum(), timer.TimeToFirstTokenMs ?? 0, ms, string.Join(",", finish));
    }

    private static int[] Prompt(JsonElement root, ModelHost model)
    {
        if (!root.TryGetProperty("prompt", out var p) || p.ValueKind == JsonValueKind.Null)
        {
            throw ApiException.BadRequest("'prompt' is required", "prompt");
        }
        if (p.ValueKind == JsonValueKind.String)
        {
            return model.Tokenizer.Encode(p.GetString()!) is { Length: > 0 } ids ? ids : throw ApiException.BadRequest("'prompt' must not be empty", "prompt");
        }
        if (p.ValueKind == JsonValueKind.Array && p.GetArrayLength() > 0 && p.EnumerateArray().All(e => e.ValueKind == JsonValueKind.Number))
        {
            var vocab = model.Engine.Runner.VocabSize;
            return p.EnumerateArray().Select(e => e.TryGetInt32(out var id) && id >= 0 && id < vocab ? id : throw ApiException.BadRequest($"'prompt' token ids must be integers in [0, {vocab})", "prompt")).ToArray();
        }
        if (p.ValueKind == JsonValueKind.Array && p.GetArrayLength() == 1 && p[0].ValueKind == JsonValueKind.String)
        {
            return model.Tokenizer.Encode(p[0].GetString()!) is { Length: > 0 } ids ? ids : throw ApiException.BadRequest("'prompt' must not be empty", "prompt");
        }
        throw ApiException.BadRequest("'prompt' must be a string, an array of one string, or an array of token ids (batches of prompts are not supported)", "prompt");
    }

    private static CompletionLogprobs Legacy(List<ChatCompletionTokenLogprob> tokens, int offset)
    {
        var offsets = new List<int>();
        foreach (var t in tokens)
        {
            offsets.Add(offset);
            offset += t.Token.Length;
        }
        return new CompletionLogprobs(
            tokens.Select(t => t.Token).ToList(),
            tokens.Select(t => (float?)t.Logprob).ToList(),
            tokens.Select(t => (Dictionary<string, float>?)t.TopLogprobs.GroupBy(a => a.Token).ToDictionary(g => g.Key, g => g.First().Logprob)).ToList(),
            offsets);
    }
}
