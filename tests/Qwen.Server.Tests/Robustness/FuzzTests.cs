using System.Collections.Concurrent;
using System.Net.Http.Headers;
using System.Text.Json;
using Xunit.Abstractions;

namespace Qwen.Server.Tests.Robustness;

/// <summary>A few thousand hostile requests: each answer must match the generator's own verdict, never a 5xx.</summary>
[Collection(RobustnessCollection.Name)]
public sealed class FuzzTests(LimitedServerFixture server, ITestOutputHelper output) : IClassFixture<LimitedServerFixture>
{
    private const int Cases = 2000;
    private const int Seed = 20261124;

    [Fact]
    public async Task ChatCompletions_HostileRequests_EachAnswersPerVerdictAndServerStaysUp()
    {
        var generator = new FuzzCaseGenerator(Seed, server.Model.Name);
        var cases = Enumerable.Range(0, Cases).Select(_ => generator.Next())
            .Concat([FuzzCaseGenerator.Huge(LimitedServerFixture.MaxBodyBytes + 1), FuzzCaseGenerator.Huge(3 * LimitedServerFixture.MaxBodyBytes)])
            .ToList();
        var byStatus = new ConcurrentDictionary<int, int>();
        var failures = new ConcurrentQueue<string>();
        using var gate = new SemaphoreSlim(4);
        await Task.WhenAll(cases.Select(async c =>
        {
            await gate.WaitAsync();
            try
            {
                var (status, body) = await SendAsync(c);
                byStatus.AddOrUpdate(status, 1, (_, n) => n + 1);
                if (Check(c, status, body) is { } problem)
                {
                    failures.Enqueue($"{c.Kind} ({c.Body.Length} bytes, {c.ContentType}): {problem}; body: {Truncate(body)}; request: {Truncate(System.Text.Encoding.UTF8.GetString(c.Body))}");
                }
            }
            finally
            {
                gate.Release();
            }
        }));

        output.WriteLine($"{cases.Count} cases ({cases.Count(c => c.Valid == true)} valid, {cases.Count(c => c.Valid is null)} either way by the generator's verdict); answers by status: {string.Join(", ", byStatus.OrderBy(p => p.Key).Select(p => $"{p.Key}: {p.Value}"))}");
        foreach (var f in failures.Take(20))
        {
            output.WriteLine(f);
        }
        Assert.True(failures.IsEmpty, $"{failures.Count} answers disagree with the verdict; first: {failures.FirstOrDefault()}");
        Assert.DoesNotContain(byStatus.Keys, s => s >= 500);
        await ProcessGauges.AssertServesNormalRequestAsync(server.Http);
        var idle = await ProcessGauges.WaitIdleAsync(server.Http, TimeSpan.FromSeconds(10));
        Assert.Equal(0, idle.GetProperty("kv_slots_used").GetInt32());
    }

    private async Task<(int Status, string Body)> SendAsync(FuzzCase c)
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
        try
        {
            using var response = await server.Http.PostAsync("/v1/chat/completions", content);
            return ((int)response.StatusCode, await response.Content.ReadAsStringAsync());
        }
        catch (HttpRequestException e) when (c.Body.Length > LimitedServerFixture.MaxBodyBytes && e.InnerException is IOException)
        {
            // Kestrel answers 413 and closes the connection without reading an over-limit body; a client still writing
            // it may see the broken pipe before the response. Status 0 records that refusal.
            return (0, e.Message);
        }
    }

    /// <summary>Null when the answer fits the verdict, else what is wrong.</summary>
    private static string? Check(FuzzCase c, int status, string body)
    {
        if (c.Valid is null && status == 200)
        {
            return null;
        }
        if (status == 0)
        {
            return c.Body.Length > LimitedServerFixture.MaxBodyBytes ? null : "connection failed for a body within the limit";
        }
        if (c.Valid == true)
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
            using var doc = JsonDocument.Parse(body);
            return doc.RootElement.GetProperty("choices").GetArrayLength() >= 1 ? null : "no choices";
        }
        if (status is < 400 or >= 500)
        {
            return $"invalid request answered {status}";
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

    private static string Truncate(string s) => s.Length <= 300 ? s : s[..300] + "…";
}
