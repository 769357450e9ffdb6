using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Text.Json;
using Xunit.Abstractions;

namespace Qwen.Server.Tests.Robustness;

/// <summary>
/// A few thousand hostile requests to /v1/chat/completions, /v1/completions, /v1/responses, /tokenize and /detokenize, plus fixed
/// cases at the limits: each answer must match the case's own verdict (valid: 200 and a well-formed answer; invalid:
/// a 4xx with the OpenAI error body), never a 5xx; afterwards the server serves a normal request and nothing runs.
/// </summary>
[Collection(RobustnessCollection.Name)]
public sealed class FuzzTests(LimitedServerFixture server, ITestOutputHelper output) : IClassFixture<LimitedServerFixture>
{
    private const int Cases = 4000;
    private const int Seed = 20261124;
    private const int Concurrency = 4;

    /// <summary>An answer later than this is a hang (a bug), recorded as status -1; the slowest fuzz answers take well under a second.</summary>
    private static readonly TimeSpan AnswerBound = TimeSpan.FromSeconds(30);

    /// <summary>How often a valid request refused with 429 (the fixture's queue is small and n=4 takes 4 places) is sent again.</summary>
    private const int RetriesOn429 = 50;

    [Fact]
    public async Task AllEndpoints_HostileRequests_EachAnswersPerVerdictAndServerStaysUp()
    {
        // The context left after the golden prompt, counted by the tokenizer (checked against golden files in its own
        // tests); /tokenize must agree with it for the same messages.
        var goldenTokens = server.Model.Tokenizer.Encode(FuzzEdgeCases.GoldenUserOnly).Length;
        var tokenized = await PostAsync("/tokenize", """{"messages":[{"role":"user","content":"Hello!"}]}""");
        Assert.Equal(200, tokenized.Status);
        Assert.Equal(goldenTokens, JsonDocument.Parse(tokenized.Body).RootElement.GetProperty("count").GetInt32());

        var generator = new FuzzCaseGenerator(Seed, server.Model.Name);
        var cases = generator.EveryMutationOnce().Concat(Enumerable.Range(0, Cases).Select(_ => generator.Next()))
            .Concat(FuzzEdgeCases.AtLimits(server.Model.Name, goldenTokens, LimitedServerFixture.MaxModelLen))
            .Concat(FuzzEdgeCases.Large(server.Model.Name, LimitedServerFixture.MaxBodyBytes))
            .ToList();
        var outcomes = new ConcurrentDictionary<(string Endpoint, int Status), int>();
        var failures = new ConcurrentQueue<string>();
        var mismatched = new ConcurrentQueue<FuzzCase>();
        var retries = 0;
        using var gate = new SemaphoreSlim(Concurrency);
        async Task RunAsync(FuzzCase c)
        {
            await gate.WaitAsync();
            try
            {
                var (status, body, retryAfter) = await SendAsync(c);
                for (var attempt = 0; status == 429 && retryAfter && attempt < RetriesOn429; attempt++)
                {
                    // A full queue says nothing about the request itself: send it again, as a client honouring Retry-After would (sooner).
                    Interlocked.Increment(ref retries);
                    await Task.Delay(20);
                    (status, body, retryAfter) = await SendAsync(c);
                }
                outcomes.AddOrUpdate((c.Endpoint, status), 1, (_, n) => n + 1);
                if (Check(c, status, body) is { } problem)
                {
                    failures.Enqueue($"{c.Endpoint} {c.Kind} ({c.Body.Length} bytes, {c.ContentType ?? "no content type"}): {problem}; answer: {Truncate(body)}; request: {Truncate(Encoding.UTF8.GetString(c.Body))}");
                    mismatched.Enqueue(c);
                }
            }
            finally
            {
                gate.Release();
            }
        }
        var clock = System.Diagnostics.Stopwatch.StartNew();
        await Task.WhenAll(cases.Select(RunAsync));
        var mainSeconds = clock.Elapsed.TotalSeconds;
        // Alone and last: if tokenizing it is slow, it must not starve the other cases.
        var slow = FuzzEdgeCases.OneMegabyteWord(server.Model.Name);
        cases.Add(slow);
        clock.Restart();
        await RunAsync(slow);
        var slowSeconds = clock.Elapsed.TotalSeconds;

        var byEndpoint = FuzzCaseGenerator.Endpoints.Select(e =>
        {
            var mine = cases.Where(c => c.Endpoint == e).ToList();
            var statuses = outcomes.Where(o => o.Key.Endpoint == e).OrderBy(o => o.Key.Status).Select(o => $"{Name(o.Key.Status)}: {o.Value}");
            return $"{e} {mine.Count} ({mine.Count(c => c.Valid)} valid; {string.Join(", ", statuses)})";
        });
        var byStatus = outcomes.GroupBy(o => o.Key.Status).OrderBy(g => g.Key).Select(g => $"{Name(g.Key)}: {g.Sum(o => o.Value)}");
        output.WriteLine($"fuzz: {cases.Count} cases (seed {Seed}); by endpoint: {string.Join("; ", byEndpoint)}; by status: {string.Join(", ", byStatus)}; " +
            $"429 retries {retries}; {failures.Count} answers against the verdict, {outcomes.Where(o => o.Key.Status >= 500).Sum(o => o.Value)} 5xx; " +
            $"{mainSeconds:F0} s for all but the one-word megabyte, {slowSeconds:F0} s for it");
        if (!mismatched.IsEmpty)
        {
            // Each mutation that took part in a mismatch, with how often: the shortest way to the rule that is missing.
            var parts = mismatched.SelectMany(c => c.Kind.Split('+').Select(k => $"{c.Endpoint} {k}")).GroupBy(k => k).OrderByDescending(g => g.Count()).Select(g => $"{g.Key} x{g.Count()}");
            output.WriteLine($"mutations in the mismatches: {string.Join(", ", parts)}");
        }
        foreach (var f in failures.Take(25))
        {
            output.WriteLine(f);
        }

        // Afterwards: a normal request is served and nothing runs, waits or holds the KV cache (/metrics and the engine agree).
        await ProcessGauges.AssertServesNormalRequestAsync(server.Http);
        var idle = await MetricsSnapshot.WaitIdleAsync(server.Http, server.Model.Engine, TimeSpan.FromSeconds(10));
        output.WriteLine($"after: /metrics {idle}");
        Assert.True(failures.IsEmpty, $"{failures.Count} answers disagree with the verdict; first: {failures.FirstOrDefault()}");
        Assert.DoesNotContain(outcomes.Keys, k => k.Status >= 500);
        Assert.True(idle.Idle, $"after the fuzz /metrics shows {idle}");
        Assert.True(MetricsSnapshot.EngineIdle(server.Model.Engine.GetStats()), $"after the fuzz the engine shows {server.Model.Engine.GetStats()}");
    }

    private async Task<(int Status, string Body)> PostAsync(string path, string json)
    {
        using var response = await server.Http.PostAsync(path, new StringContent(json, Encoding.UTF8, "application/json"));
        return ((int)response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    private async Task<(int Status, string Body, bool RetryAfter)> SendAsync(FuzzCase c)
    {
        using var content = new ByteArrayContent(c.Body);
        if (c.ContentType is not null)
        {
            content.Headers.TryAddWithoutValidation("Content-Type", c.ContentType);
        }
        else
        {
            content.Headers.ContentType = null;
        }
        using var bound = new CancellationTokenSource(AnswerBound);
        try
        {
            using var response = await server.Http.PostAsync(c.Endpoint, content, bound.Token);
            return ((int)response.StatusCode, await response.Content.ReadAsStringAsync(bound.Token), response.Headers.RetryAfter is not null);
        }
        catch (OperationCanceledException) when (bound.IsCancellationRequested)
        {
            return (-1, $"no answer within {AnswerBound.TotalSeconds} s", false);
        }
        catch (HttpRequestException e) when (c.Body.Length > LimitedServerFixture.MaxBodyBytes && e.InnerException is IOException)
        {
            // Kestrel answers 413 and closes the connection without reading an over-limit body; a client still writing
            // it may see the broken pipe before the response. Status 0 records that refusal.
            return (0, e.Message, false);
        }
    }

    /// <summary>Null when the answer fits the verdict, else what is wrong.</summary>
    private static string? Check(FuzzCase c, int status, string body)
    {
        if (c.Body.Length > LimitedServerFixture.MaxBodyBytes)
        {
            return status is (int)HttpStatusCode.RequestEntityTooLarge or 0 ? ErrorBody(body, status) : $"a body over the limit answered {status}";
        }
        if (status <= 0)
        {
            return status == 0 ? "connection failed for a body within the limit" : body;
        }
        if (c.Valid)
        {
            if (status != 200)
            {
                return $"valid request answered {status}";
            }
            if (c.Stream)
            {
                var events = body.Split('\n').Where(l => l.StartsWith("data: ", StringComparison.Ordinal)).ToList();
                return events.Count >= 2 && events[^1] == "data: [DONE]" && !events.Any(e => e.StartsWith("data: {\"error\"", StringComparison.Ordinal))
                    ? null : "stream did not end with [DONE] or carried an error event";
            }
            try
            {
                using var doc = JsonDocument.Parse(body);
                var root = doc.RootElement;
                var shape = c.Endpoint switch
                {
                    FuzzCaseGenerator.Tokenize => root.GetProperty("tokens").ValueKind == JsonValueKind.Array && root.GetProperty("count").GetInt32() == root.GetProperty("tokens").GetArrayLength(),
                    FuzzCaseGenerator.Detokenize => root.GetProperty("prompt").ValueKind == JsonValueKind.String,
                    FuzzCaseGenerator.Responses => root.GetProperty("object").GetString() == "response" && root.GetProperty("output").ValueKind == JsonValueKind.Array,
                    _ => root.GetProperty("choices").GetArrayLength() >= 1,
                };
                return !shape ? "the answer lacks its fields" : c.Expect?.Invoke(root);
            }
            catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or IndexOutOfRangeException)
            {
                return $"the answer is not the expected object ({e.GetType().Name}: {e.Message})";
            }
        }
        if (status is < 400 or >= 500)
        {
            return $"invalid request answered {status}";
        }
        return ErrorBody(body, status) ?? Expect(c, body);
    }

    private static string? Expect(FuzzCase c, string body)
    {
        using var doc = JsonDocument.Parse(body);
        return c.Expect?.Invoke(doc.RootElement);
    }

    /// <summary>Null when <paramref name="body"/> is the OpenAI error object {"error":{"message","type","param","code"}}.</summary>
    private static string? ErrorBody(string body, int status)
    {
        if (status == 0)
        {
            return null;
        }
        try
        {
            using var doc = JsonDocument.Parse(body);
            var error = doc.RootElement.GetProperty("error");
            var ok = error.GetProperty("message").ValueKind == JsonValueKind.String && error.GetProperty("message").GetString()!.Length > 0
                && error.GetProperty("type").ValueKind == JsonValueKind.String
                && error.TryGetProperty("param", out var p) && p.ValueKind is JsonValueKind.String or JsonValueKind.Null
                && error.TryGetProperty("code", out var code) && code.ValueKind is JsonValueKind.String or JsonValueKind.Null;
            return ok ? null : "error body lacks message/type/param/code";
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            return "error body is not the OpenAI error object";
        }
    }

    private static string Name(int status) => status switch { 0 => "closed", -1 => "hang", _ => $"{status}" };

    private static string Truncate(string s) => s.Length <= 300 ? s : s[..300] + "…";
}
