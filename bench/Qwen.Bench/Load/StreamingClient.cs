using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace Qwen.Bench.Load;

/// <summary>
/// Sends one streaming chat completion to any OpenAI-compatible server (only /v1/chat/completions) and times its
/// server-sent events. Tokens per chunk, for per-token inter-token latency: the chunk's cumulative usage when the server
/// sends one in every chunk (vLLM's stream_options.continuous_usage_stats, asked for with <paramref name="continuousUsage"/>),
/// else the number of entries in the chunk's logprobs.content (asked for with <paramref name="logprobs"/>; exact on any
/// OpenAI server, at the cost of a log-softmax per token on the server), else one token per content chunk; the final
/// usage (stream_options.include_usage) then tells how many tokens that guess missed.
/// A stream that ends without <c>data: [DONE]</c> is an error of kind "truncated".
/// </summary>
internal sealed class StreamingClient(HttpClient http, string model, string? apiKey, bool logprobs = false, bool continuousUsage = false, TimeSpan? timeout = null, bool ignoreEos = true)
{
    public string Model => model;

    /// <summary>Streams one request; <paramref name="ct"/> cancelled by the caller ends it as "cancelled", the per-request timeout as "timeout".</summary>
    public async Task<StreamResult> RunAsync(string prompt, int maxTokens, CancellationToken ct)
    {
        var body = JsonSerializer.Serialize(new Dictionary<string, object?>
        {
            ["model"] = model,
            ["messages"] = new[] { new { role = "user", content = prompt } },
            ["max_tokens"] = maxTokens,
            ["stream"] = true,
            ["stream_options"] = continuousUsage ? new Dictionary<string, bool> { ["include_usage"] = true, ["continuous_usage_stats"] = true } : new Dictionary<string, bool> { ["include_usage"] = true },
            ["temperature"] = 0,
            // Fixed output lengths: vLLM's extension (this server has it too); --no-ignore-eos for servers that refuse unknown fields.
            ["ignore_eos"] = ignoreEos ? true : null,
            ["logprobs"] = logprobs ? true : null,
        }.Where(p => p.Value is not null).ToDictionary());
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        if (apiKey is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
        }
        using var deadline = new CancellationTokenSource(timeout ?? Timeout.InfiniteTimeSpan);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, deadline.Token);
        var start = Stopwatch.GetTimestamp();
        double? ttft = null;
        var gaps = new List<double>();
        long last = 0;
        var credited = 0; // tokens credited to chunks so far
        var usageTotal = -1; // completion_tokens of the last usage seen
        // The server's own count when it gave one (include_usage), else the chunks' count.
        StreamResult Result(string? error) => new(ttft, gaps, Stopwatch.GetElapsedTime(start).TotalSeconds, usageTotal >= 0 ? usageTotal : credited, error, usageTotal > credited ? usageTotal - credited : 0);
        try
        {
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, linked.Token);
            if (!response.IsSuccessStatusCode)
            {
                return Result($"http {(int)response.StatusCode}");
            }
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(linked.Token));
            while (await reader.ReadLineAsync(linked.Token) is { } line)
            {
                if (!line.StartsWith("data:", StringComparison.Ordinal))
                {
                    continue;
                }
                var data = line.AsMemory(5).Trim();
                if (data.Span.SequenceEqual("[DONE]"))
                {
                    return Result(null);
                }
                var now = Stopwatch.GetTimestamp();
                using var doc = JsonDocument.Parse(data);
                var root = doc.RootElement;
                if (root.TryGetProperty("error", out _))
                {
                    return Result(StreamResult.ErrorEvent);
                }
                var tokens = TokensIn(root, ref usageTotal, credited);
                if (tokens == 0)
                {
                    continue;
                }
                if (ttft is null)
                {
                    // The first chunk's extra tokens belong to the time to first token: they have no gap of their own.
                    ttft = Stopwatch.GetElapsedTime(start, now).TotalSeconds;
                }
                else
                {
                    var dt = Stopwatch.GetElapsedTime(last, now).TotalSeconds / tokens;
                    for (var k = 0; k < tokens; k++)
                    {
                        gaps.Add(dt);
                    }
                }
                credited += tokens;
                last = now;
            }
            return Result(StreamResult.Truncated);
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested && !ct.IsCancellationRequested)
        {
            return Result(StreamResult.Timeout);
        }
        catch (OperationCanceledException)
        {
            return Result(StreamResult.Cancelled);
        }
        catch (Exception e) when (e is HttpRequestException or IOException)
        {
            return Result(StreamResult.Connection);
        }
        catch (JsonException)
        {
            return Result(StreamResult.Malformed);
        }
    }

    /// <summary>
    /// Tokens one chunk carries (0: none, e.g. the role chunk, the finish chunk or the usage-only chunk). Only the source
    /// that was asked for counts, so a server that sends a token's logprobs and its text in separate chunks is not counted twice.
    /// </summary>
    private int TokensIn(JsonElement root, ref int usageTotal, int credited)
    {
        var hasUsage = root.TryGetProperty("usage", out var usage) && usage.ValueKind == JsonValueKind.Object && usage.TryGetProperty("completion_tokens", out var ct) && ct.ValueKind == JsonValueKind.Number;
        if (hasUsage)
        {
            usageTotal = usage.GetProperty("completion_tokens").GetInt32();
        }
        if (!root.TryGetProperty("choices", out var choices) || choices.ValueKind != JsonValueKind.Array || choices.GetArrayLength() == 0)
        {
            return 0;
        }
        var choice = choices[0];
        if (continuousUsage && hasUsage)
        {
            // Cumulative usage in every chunk: the difference is exact.
            return Math.Max(0, usageTotal - credited);
        }
        if (logprobs)
        {
            return choice.TryGetProperty("logprobs", out var lp) && lp.ValueKind == JsonValueKind.Object && lp.TryGetProperty("content", out var entries) && entries.ValueKind == JsonValueKind.Array
                ? entries.GetArrayLength() : 0;
        }
        return choice.TryGetProperty("delta", out var delta) && delta.TryGetProperty("content", out var content) && content.ValueKind == JsonValueKind.String && content.GetString() is { Length: > 0 } ? 1 : 0;
    }
}
