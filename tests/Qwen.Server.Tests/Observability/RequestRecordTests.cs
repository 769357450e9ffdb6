using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace Qwen.Server.Tests.Observability;

/// <summary>
/// One record per generation request, however it ends: the counters move by exactly each request's outcome and every
/// request (finished, refused, abandoned by its client) logs one structured line with its fields, never its prompt.
/// </summary>
public sealed class RequestRecordTests
{
    private const string Secret = "SECRET-PROMPT-4b1f";

    [Fact]
    public async Task Requests_MoveCountersByTheirOutcome_AndEachLogsOneLineWithoutPromptText()
    {
        await using var server = await JsonLoggedServer.StartAsync();
        var before = await server.MetricsAsync();

        // Finished by length (chat and text completion).
        using var ok = await server.Http.PostAsJsonAsync("/v1/chat/completions", new { messages = new[] { new { role = "user", content = Secret + " ok" } }, max_tokens = 3, temperature = 0, ignore_eos = true });
        var chat = await ok.Content.ReadFromJsonAsync<JsonElement>();
        using var text = await server.Http.PostAsJsonAsync("/v1/completions", new { prompt = Secret + " text", max_tokens = 2, ignore_eos = true });
        var completion = await text.Content.ReadFromJsonAsync<JsonElement>();
        // Refused: a 400 and a 404.
        using var bad = await server.Http.PostAsJsonAsync("/v1/chat/completions", new { messages = new[] { new { role = "user", content = Secret + " bad" } }, temperature = 5 });
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        using var missing = await server.Http.PostAsJsonAsync("/v1/chat/completions", new { model = "gpt-4o", messages = new[] { new { role = "user", content = Secret } } });
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        // Abandoned: the client reads a few events of a long stream, then hangs up.
        string cancelledId;
        using (var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = JsonContent.Create(new { messages = new[] { new { role = "user", content = Secret + " long" } }, max_tokens = 400, ignore_eos = true, stream = true }) })
        using (var stream = await server.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead))
        {
            cancelledId = stream.Headers.GetValues("X-Request-Id").Single();
            using var reader = new StreamReader(await stream.Content.ReadAsStreamAsync());
            for (var events = 0; events < 4;)
            {
                events += (await reader.ReadLineAsync())!.StartsWith("data: ", StringComparison.Ordinal) ? 1 : 0;
            }
        }

        var cancelled = await server.RecordAsync(cancelledId); // written after its metrics, so /metrics is complete now
        var okRecord = await server.RecordAsync(chat.GetProperty("id").GetString()!);
        var textRecord = await server.RecordAsync(completion.GetProperty("id").GetString()!);
        var badRecord = await server.RecordAsync(bad.Headers.GetValues("X-Request-Id").Single());
        var missingRecord = await server.RecordAsync(missing.Headers.GetValues("X-Request-Id").Single());
        var after = await server.MetricsAsync();
        double Delta(string series) => after.GetValueOrDefault(series) - before.GetValueOrDefault(series);

        Assert.Equal(2, Delta("qwen_requests_finished_total{finish_reason=\"length\"}"));
        Assert.Equal(1, Delta("qwen_requests_finished_total{finish_reason=\"cancelled\"}"));
        Assert.Equal(0, Delta("qwen_requests_finished_total{finish_reason=\"stop\"}"));
        Assert.Equal(1, Delta("qwen_request_errors_total{status=\"400\"}"));
        Assert.Equal(1, Delta("qwen_request_errors_total{status=\"404\"}"));
        Assert.Equal(0, Delta("qwen_request_errors_total{status=\"500\"}"));
        var promptTokens = chat.GetProperty("usage").GetProperty("prompt_tokens").GetInt32() + completion.GetProperty("usage").GetProperty("prompt_tokens").GetInt32() + cancelled.GetProperty("PromptTokens").GetInt32();
        Assert.Equal(promptTokens, Delta("qwen_prompt_tokens_total"));
        var cancelledTokens = cancelled.GetProperty("CompletionTokens").GetInt32();
        Assert.InRange(cancelledTokens, 3, 399); // it had streamed some tokens and did not run to max_tokens
        Assert.Equal(3 + 2 + cancelledTokens, Delta("qwen_generation_tokens_total"));
        Assert.Equal(3, Delta("qwen_e2e_request_latency_seconds_count"));
        Assert.Equal(3, Delta("qwen_time_to_first_token_seconds_count"));

        // The lines: every field there, with the values the client saw.
        Assert.Equal("chat.completion", okRecord.GetProperty("Kind").GetString());
        Assert.Equal(200, okRecord.GetProperty("Status").GetInt32());
        Assert.Equal(chat.GetProperty("model").GetString(), okRecord.GetProperty("Model").GetString());
        Assert.Equal(chat.GetProperty("usage").GetProperty("prompt_tokens").GetInt32(), okRecord.GetProperty("PromptTokens").GetInt32());
        Assert.Equal(3, okRecord.GetProperty("CompletionTokens").GetInt32());
        Assert.Equal("length", okRecord.GetProperty("Finish").GetString());
        Assert.True(okRecord.GetProperty("TtftMs").GetDouble() <= okRecord.GetProperty("DurationMs").GetDouble());
        Assert.Equal(("text_completion", 200, "length"), (textRecord.GetProperty("Kind").GetString(), textRecord.GetProperty("Status").GetInt32(), textRecord.GetProperty("Finish").GetString()));
        Assert.Equal((400, "invalid_request_error", JsonValueKind.Null), (badRecord.GetProperty("Status").GetInt32(), badRecord.GetProperty("ErrorCode").GetString(), badRecord.GetProperty("PromptTokens").ValueKind));
        Assert.Equal("temperature", badRecord.GetProperty("Param").GetString()); // the field at fault, as the client's error body names it
        Assert.Equal("temperature", (await bad.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetProperty("param").GetString());
        Assert.Equal((404, "model_not_found"), (missingRecord.GetProperty("Status").GetInt32(), missingRecord.GetProperty("ErrorCode").GetString()));
        Assert.Equal((499, "cancelled", true), (cancelled.GetProperty("Status").GetInt32(), cancelled.GetProperty("Finish").GetString(), cancelled.GetProperty("Stream").GetBoolean()));
        Assert.All(new[] { okRecord, textRecord, badRecord, missingRecord, cancelled }, r => Assert.Equal(JsonValueKind.Number, r.GetProperty("DurationMs").ValueKind));
        Assert.Single(server.Lines, l => l.Contains(cancelledId, StringComparison.Ordinal));

        Assert.DoesNotContain(server.Lines, l => l.Contains(Secret, StringComparison.Ordinal));
    }

    [Fact]
    public async Task BadRequestOutsideGeneration_LogLineNamesTheParam()
    {
        // /tokenize keeps no request record: the error middleware writes its line.
        await using var server = await JsonLoggedServer.StartAsync();
        using var bad = await server.Http.PostAsJsonAsync("/tokenize", new { messages = new[] { new { role = "user", content = 5 } } });
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Equal("messages[0].content", (await bad.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetProperty("param").GetString());

        var line = await server.WaitForLogAsync(e => e.TryGetProperty("Path", out var p) && p.GetString() == "/tokenize");
        Assert.Equal((400, "invalid_request_error", "messages[0].content"), (line.GetProperty("Status").GetInt32(), line.GetProperty("ErrorCode").GetString(), line.GetProperty("Param").GetString()));
        Assert.Contains("param={Param}", line.GetProperty("@mt").GetString(), StringComparison.Ordinal);
    }
}
