using System.Diagnostics;
using System.Text;
using System.Text.Json;

namespace Qwen.Server.Tests.Robustness;

/// <summary>A streaming chat completion read by hand: the status, every SSE data payload and when the stream ended.</summary>
internal sealed class SseStream
{
    private static readonly JsonSerializerOptions OmitNulls = new() { DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull };

    public int Status { get; private set; }

    public string? RetryAfter { get; private set; }

    public List<string> Events { get; } = [];

    /// <summary>Stopwatch timestamp of the moment the request was sent.</summary>
    public long StartedAt { get; private set; }

    /// <summary>Stopwatch timestamp of the last byte read.</summary>
    public long EndedAt { get; private set; }

    public string ErrorBody { get; private set; } = "";

    public bool Done => Events.Count > 0 && Events[^1] == "[DONE]";

    public bool HasErrorEvent => Events.Any(e => e.StartsWith("{\"error\"", StringComparison.Ordinal));

    public string? FinishReason => Events.Where(e => e.StartsWith('{') && !e.StartsWith("{\"error\"", StringComparison.Ordinal))
        .Select(e => JsonDocument.Parse(e).RootElement.GetProperty("choices"))
        .Where(c => c.GetArrayLength() > 0 && c[0].TryGetProperty("finish_reason", out var f) && f.ValueKind == JsonValueKind.String)
        .Select(c => c[0].GetProperty("finish_reason").GetString())
        .LastOrDefault();

    /// <summary>The completion_tokens of the final usage chunk (stream_options.include_usage), if the stream had one.</summary>
    public int? CompletionTokens => Events.Where(e => e.StartsWith('{') && e.Contains("\"usage\":{", StringComparison.Ordinal))
        .Select(e => (int?)JsonDocument.Parse(e).RootElement.GetProperty("usage").GetProperty("completion_tokens").GetInt32())
        .LastOrDefault();

    public static string ChatBody(string prompt, int maxTokens, bool stream = true, bool ignoreEos = true, bool includeUsage = false)
        => JsonSerializer.Serialize(
            new
            {
                messages = new[] { new { role = "user", content = prompt } },
                max_tokens = maxTokens,
                stream,
                stream_options = includeUsage ? new { include_usage = true } : null,
                temperature = 0,
                ignore_eos = ignoreEos,
            },
            OmitNulls);

    /// <summary>Posts <paramref name="json"/> and reads the whole stream; <paramref name="onEvent"/> may stop reading early by returning false.</summary>
    public static Task<SseStream> RunAsync(HttpClient http, string json, CancellationToken ct, Func<int, bool>? onEvent = null)
        => RunAsync(http, json, ct, onEvent is null ? null : n => ValueTask.FromResult(onEvent(n)));

    /// <summary>As above, with an asynchronous <paramref name="onEvent"/> (it may wait for something before deciding).</summary>
    public static async Task<SseStream> RunAsync(HttpClient http, string json, CancellationToken ct, Func<int, ValueTask<bool>>? onEvent)
    {
        var result = new SseStream();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        result.StartedAt = Stopwatch.GetTimestamp();
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
        result.Status = (int)response.StatusCode;
        result.RetryAfter = response.Headers.RetryAfter?.ToString();
        if (!response.IsSuccessStatusCode)
        {
            result.ErrorBody = await response.Content.ReadAsStringAsync(ct);
            result.EndedAt = Stopwatch.GetTimestamp();
            return result;
        }
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(ct));
        while (await reader.ReadLineAsync(ct) is { } line)
        {
            if (!line.StartsWith("data: ", StringComparison.Ordinal))
            {
                continue;
            }
            result.Events.Add(line[6..]);
            if (onEvent is not null && !await onEvent(result.Events.Count))
            {
                break;
            }
        }
        result.EndedAt = Stopwatch.GetTimestamp();
        return result;
    }
}
