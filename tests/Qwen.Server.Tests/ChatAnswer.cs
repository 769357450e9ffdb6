using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace Qwen.Server.Tests;

/// <summary>
/// Choice 0 of a chat completion as a client sees it: read from a whole response, or accumulated from a stream (content
/// appended, a call opened by its first delta and its arguments appended), with the raw SSE chunks for shape checks.
/// </summary>
internal sealed record ChatAnswer(string? Content, IReadOnlyList<(string Name, string Arguments)> Calls, string? Finish, IReadOnlyList<JsonElement> Chunks, string Raw)
{
    /// <summary>Posts <paramref name="body"/> (stream false) to /v1/chat/completions and reads choice 0; the status must be 200.</summary>
    public static async Task<ChatAnswer> WholeAsync(HttpClient http, string body, string? apiKey = null)
    {
        using var response = await http.SendAsync(Post(body, apiKey));
        var raw = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, raw);
        var choice = JsonDocument.Parse(raw).RootElement.GetProperty("choices")[0];
        var message = choice.GetProperty("message");
        var calls = message.TryGetProperty("tool_calls", out var tc)
            ? tc.EnumerateArray().Select(c => (c.GetProperty("function").GetProperty("name").GetString()!, c.GetProperty("function").GetProperty("arguments").GetString()!)).ToList()
            : [];
        return new ChatAnswer(message.GetProperty("content").GetString(), calls, choice.GetProperty("finish_reason").GetString(), [], raw);
    }

    /// <summary>Posts <paramref name="body"/> (which must ask for a stream) and accumulates choice 0's deltas.</summary>
    public static async Task<ChatAnswer> StreamAsync(HttpClient http, string body, string? apiKey = null)
    {
        using var response = await http.SendAsync(Post(body, apiKey), HttpCompletionOption.ResponseHeadersRead);
        var raw = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, raw);
        var content = new StringBuilder();
        var calls = new SortedDictionary<int, (string Name, StringBuilder Arguments)>();
        string? finish = null;
        var chunks = new List<JsonElement>();
        foreach (var e in raw.Split("\n\n", StringSplitOptions.RemoveEmptyEntries).Where(e => e != "data: [DONE]"))
        {
            var chunk = JsonDocument.Parse(e["data: ".Length..]).RootElement;
            chunks.Add(chunk);
            foreach (var choice in chunk.TryGetProperty("choices", out var cs) ? cs.EnumerateArray().Where(c => c.GetProperty("index").GetInt32() == 0) : [])
            {
                var delta = choice.GetProperty("delta");
                if (delta.TryGetProperty("content", out var c) && c.ValueKind == JsonValueKind.String)
                {
                    content.Append(c.GetString());
                }
                foreach (var call in delta.TryGetProperty("tool_calls", out var tcs) ? tcs.EnumerateArray() : [])
                {
                    var index = call.GetProperty("index").GetInt32();
                    var function = call.GetProperty("function");
                    if (!calls.TryGetValue(index, out var known))
                    {
                        calls[index] = known = (function.GetProperty("name").GetString()!, new StringBuilder());
                    }
                    known.Arguments.Append(function.TryGetProperty("arguments", out var a) ? a.GetString() : null);
                }
                if (choice.GetProperty("finish_reason").ValueKind == JsonValueKind.String)
                {
                    finish = choice.GetProperty("finish_reason").GetString();
                }
            }
        }
        return new ChatAnswer(content.Length == 0 ? null : content.ToString(), calls.Values.Select(c => (c.Name, c.Arguments.ToString())).ToList(), finish, chunks, raw);
    }

    /// <summary>A JSON POST to /v1/chat/completions, with a bearer key when given.</summary>
    public static HttpRequestMessage Post(string body, string? apiKey = null, string path = "/v1/chat/completions")
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        if (apiKey is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
        }
        return request;
    }
}
