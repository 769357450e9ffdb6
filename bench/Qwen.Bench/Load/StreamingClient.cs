using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace Qwen.Bench.Load;

/// <summary>Sends one streaming chat completion to any OpenAI-compatible server and times its server-sent events.</summary>
internal sealed class StreamingClient(HttpClient http, string model, string? apiKey)
{
    public string Model => model;

    public async Task<StreamResult> RunAsync(string prompt, int maxTokens, CancellationToken ct)
    {
        var body = JsonSerializer.Serialize(new
        {
            model,
            messages = new[] { new { role = "user", content = prompt } },
            max_tokens = maxTokens,
            stream = true,
            stream_options = new { include_usage = true },
            temperature = 0,
            ignore_eos = true, // fixed output lengths (vLLM's extension; servers without it ignore the field)
        });
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        if (apiKey is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
        }
        var start = Stopwatch.GetTimestamp();
        double? ttft = null;
        var gaps = new List<double>();
        long last = 0;
        var tokens = 0;
        var chunks = 0;
        try
        {
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
            if (!response.IsSuccessStatusCode)
            {
                return new StreamResult(null, [], Stopwatch.GetElapsedTime(start).TotalSeconds, 0, $"http {(int)response.StatusCode}");
            }
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(ct));
            while (await reader.ReadLineAsync(ct) is { } line)
            {
                if (!line.StartsWith("data: ", StringComparison.Ordinal) || line == "data: [DONE]")
                {
                    continue;
                }
                using var doc = JsonDocument.Parse(line.AsMemory(6));
                if (doc.RootElement.TryGetProperty("error", out _))
                {
                    return new StreamResult(ttft, gaps, Stopwatch.GetElapsedTime(start).TotalSeconds, tokens, "stream error event");
                }
                if (doc.RootElement.TryGetProperty("usage", out var usage) && usage.ValueKind == JsonValueKind.Object)
                {
                    tokens = usage.GetProperty("completion_tokens").GetInt32();
                }
                var choices = doc.RootElement.GetProperty("choices");
                if (choices.GetArrayLength() == 0 || !choices[0].GetProperty("delta").TryGetProperty("content", out var content) || content.GetString() is not { Length: > 0 })
                {
                    continue;
                }
                var now = Stopwatch.GetTimestamp();
                chunks++;
                if (ttft is null)
                {
                    ttft = Stopwatch.GetElapsedTime(start, now).TotalSeconds;
                }
                else
                {
                    gaps.Add(Stopwatch.GetElapsedTime(last, now).TotalSeconds);
                }
                last = now;
            }
            return new StreamResult(ttft, gaps, Stopwatch.GetElapsedTime(start).TotalSeconds, tokens > 0 ? tokens : chunks, null);
        }
        catch (Exception e) when (e is HttpRequestException or IOException or JsonException or OperationCanceledException)
        {
            return new StreamResult(ttft, gaps, Stopwatch.GetElapsedTime(start).TotalSeconds, tokens, e.GetType().Name);
        }
    }
}
