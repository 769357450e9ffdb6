using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Qwen.Server.Tests.Deploy;

namespace Qwen.Server.Tests.Endpoints;

/// <summary>
/// Whole responses, byte for byte, against Golden/responses.jsonl: chat and text completions, streamed and whole, n = 2,
/// tools (auto, parallel off, required, named), stop strings, logprobs (scripted rows and the real tiny test model's), echo,
/// errors before the response and a shutdown in mid-stream. The file was recorded from the server as it was before the
/// generation pipeline was rewritten (issue 12), so it pins today's wire output for a fixed seed. Random ids and the
/// created time are masked; the chunks of n &gt; 1 streams are compared per choice (their interleaving follows timing).
/// To record again: QWEN_RECORD_RESPONSES=1 dotnet test --filter ResponseGoldenTests (then review the diff).
/// </summary>
public sealed partial class ResponseGoldenTests(ResponseGoldenTests.Servers servers) : IClassFixture<ResponseGoldenTests.Servers>
{
    private const string Tools = """[{"type":"function","function":{"name":"get_weather","description":"Weather in a city","parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}}]""";
    private const string TwoCalls = "Let me check.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Zürich\"}}\n</tool_call>\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"東京\"}}\n</tool_call>";
    private static readonly string GoldenPath = Path.Combine(RepoRoot.Path, "tests", "Qwen.Server.Tests", "Golden", "responses.jsonl");
    private static readonly bool Recording = Environment.GetEnvironmentVariable("QWEN_RECORD_RESPONSES") == "1";
    private static readonly Lock RecordLock = new();

    /// <summary>Each case: name, server (scripted or demo), path, body; the scripted outputs are registered by <see cref="Servers"/>.</summary>
    public static TheoryData<string, string, string, string> Cases => new()
    {
        { "chat-whole", "scripted", "/v1/chat/completions", """{"messages":[{"role":"user","content":"gk-plain"}]}""" },
        { "chat-stream-usage", "scripted", "/v1/chat/completions", """{"messages":[{"role":"user","content":"gk-plain"}],"stream":true,"stream_options":{"include_usage":true}}""" },
        { "chat-length", "scripted", "/v1/chat/completions", """{"messages":[{"role":"user","content":"gk-plain"}],"max_tokens":3}""" },
        { "chat-length-stream", "scripted", "/v1/chat/completions", """{"messages":[{"role":"user","content":"gk-plain"}],"max_completion_tokens":3,"stream":true}""" },
        { "chat-n2-whole", "scripted", "/v1/chat/completions", """{"messages":[{"role":"user","content":"gk-plain"}],"n":2}""" },
        { "chat-n2-stream", "scripted", "/v1/chat/completions", """{"messages":[{"role":"user","content":"gk-plain"}],"n":2,"stream":true,"stream_options":{"include_usage":true}}""" },
        { "chat-stop-whole", "scripted", "/v1/chat/completions", """{"messages":[{"role":"user","content":"gk-stop"}],"stop":["OF-TE"]}""" },
        { "chat-stop-stream", "scripted", "/v1/chat/completions", """{"messages":[{"role":"user","content":"gk-stop"}],"stop":"OF-TE","stream":true}""" },
        { "chat-tools-whole", "scripted", "/v1/chat/completions", """{"messages":[{"role":"user","content":"gk-tools"}],"tools":""" + Tools + "}" },
        { "chat-tools-stream", "scripted", "/v1/chat/completions", """{"messages":[{"role":"user","content":"gk-tools"}],"tools":""" + Tools + ""","stream":true,"stream_options":{"include_usage":true}}""" },
        { "chat-tools-n2-stream", "scripted", "/v1/chat/completions", """{"messages":[{"role":"user","content":"gk-tools"}],"tools":""" + Tools + ""","n":2,"stream":true}""" },
        { "chat-tools-serial-whole", "scripted", "/v1/chat/completions", """{"messages":[{"role":"user","content":"gk-tools"}],"tools":""" + Tools + ""","parallel_tool_calls":false}""" },
        { "chat-tools-serial-stream", "scripted", "/v1/chat/completions", """{"messages":[{"role":"user","content":"gk-tools"}],"tools":""" + Tools + ""","parallel_tool_calls":false,"stream":true}""" },
        { "chat-tools-none", "scripted", "/v1/chat/completions", """{"messages":[{"role":"user","content":"gk-plain"}],"tools":""" + Tools + ""","tool_choice":"none"}""" },
        { "chat-required-whole", "scripted", "/v1/chat/completions", """{"messages":[{"role":"user","content":"gk-required"}],"tools":""" + Tools + ""","tool_choice":"required","logprobs":true}""" },
        { "chat-required-stream", "scripted", "/v1/chat/completions", """{"messages":[{"role":"user","content":"gk-required"}],"tools":""" + Tools + ""","tool_choice":"required","stream":true}""" },
        { "chat-named-stream", "scripted", "/v1/chat/completions", """{"messages":[{"role":"user","content":"gk-named"}],"tools":""" + Tools + ""","tool_choice":{"type":"function","function":{"name":"get_weather"}},"stream":true}""" },
        { "chat-logprobs-whole", "scripted", "/v1/chat/completions", """{"messages":[{"role":"user","content":"gk-row"}],"logprobs":true,"top_logprobs":3,"seed":7}""" },
        { "chat-logprobs-stream", "scripted", "/v1/chat/completions", """{"messages":[{"role":"user","content":"gk-row"}],"logprobs":true,"top_logprobs":3,"seed":7,"stream":true}""" },
        { "chat-logprobs-stop-stream", "scripted", "/v1/chat/completions", """{"messages":[{"role":"user","content":"gk-stop"}],"stop":["OF-TE"],"logprobs":true,"top_logprobs":1,"stream":true}""" },
        { "text-whole", "scripted", "/v1/completions", """{"prompt":"gk-plain","max_tokens":8}""" },
        { "text-stream-usage", "scripted", "/v1/completions", """{"prompt":"gk-plain","stream":true,"stream_options":{"include_usage":true}}""" },
        { "text-echo-logprobs-whole", "scripted", "/v1/completions", """{"prompt":"gk-plain","echo":true,"logprobs":2,"max_tokens":4}""" },
        { "text-echo-logprobs-stream", "scripted", "/v1/completions", """{"prompt":"gk-plain","echo":true,"logprobs":2,"max_tokens":4,"stream":true}""" },
        { "text-n2-logprobs-stream", "scripted", "/v1/completions", """{"prompt":"gk-row","n":2,"logprobs":3,"seed":11,"stream":true,"stream_options":{"include_usage":true}}""" },
        { "text-n2-stop-whole", "scripted", "/v1/completions", """{"prompt":"gk-stop","n":2,"stop":["OF-TE"],"logprobs":0}""" },
        { "error-many-problems", "scripted", "/v1/chat/completions", """{"messages":[{"role":"wizard","content":42}],"temperature":9,"n":0,"stop":[""]}""" },
        { "error-model", "scripted", "/v1/chat/completions", """{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}""" },
        { "error-context", "scripted", "/v1/completions", """{"prompt":"gk-plain","max_tokens":100000}""" },
        { "error-required-no-tools", "scripted", "/v1/chat/completions", """{"messages":[{"role":"user","content":"hi"}],"tool_choice":"required"}""" },
        { "error-text-prompt", "scripted", "/v1/completions", """{"prompt":["a","b"]}""" },
        { "demo-chat-logprobs-whole", "demo", "/v1/chat/completions", """{"messages":[{"role":"user","content":"Hello"}],"max_tokens":6,"seed":42,"temperature":0.8,"logprobs":true,"top_logprobs":3}""" },
        { "demo-chat-logprobs-stream", "demo", "/v1/chat/completions", """{"messages":[{"role":"user","content":"Hello"}],"max_tokens":6,"seed":42,"temperature":0.8,"logprobs":true,"top_logprobs":3,"stream":true,"stream_options":{"include_usage":true}}""" },
        { "demo-chat-required", "demo", "/v1/chat/completions", """{"messages":[{"role":"user","content":"Weather?"}],"tools":""" + Tools + ""","tool_choice":"required","max_tokens":40,"seed":3}""" },
        { "demo-chat-json-object", "demo", "/v1/chat/completions", """{"messages":[{"role":"user","content":"JSON please"}],"response_format":{"type":"json_object"},"max_tokens":12,"seed":5,"stream":true}""" },
        { "demo-text-echo-logprobs", "demo", "/v1/completions", """{"prompt":"The capital of France is","max_tokens":5,"seed":9,"echo":true,"logprobs":2}""" },
        { "demo-text-stream", "demo", "/v1/completions", """{"prompt":"The capital of France is","max_tokens":5,"seed":9,"logprobs":1,"stream":true}""" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Response_MatchesTheRecordedBytes(string name, string serverName, string path, string body)
    {
        var http = serverName == "demo" ? servers.Demo.Http : servers.Scripted.Http;
        using var request = serverName == "demo" ? Plain(path, body) : servers.Scripted.Post(path, body);
        using var response = await http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        Check(name, (int)response.StatusCode, response.Content.Headers.ContentType?.ToString() ?? "", text);
    }

    [Theory]
    [InlineData("shutdown-chat-stream", "/v1/chat/completions", """{"messages":[{"role":"user","content":"gk-shutdown"}],"stream":true,"logprobs":true}""")]
    [InlineData("shutdown-text-stream", "/v1/completions", """{"prompt":"gk-shutdown","stream":true,"logprobs":1,"echo":true}""")]
    public async Task ShutdownMidStream_MatchesTheRecordedBytes(string name, string path, string body)
    {
        var server = new BatchScriptedServerFixture();
        await server.InitializeAsync();
        var gate = server.ScriptPaused("gk-shutdown", "a b c d e f g h", pauseBefore: 3);
        try
        {
            using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            using var response = await server.Http.SendAsync(server.Post(path, body), HttpCompletionOption.ResponseHeadersRead, bound.Token);
            var reading = response.Content.ReadAsStringAsync(bound.Token);
            await gate.Reached.WaitAsync(bound.Token);
            await Task.Delay(200, bound.Token); // the chunks already generated reach the socket
            var stopping = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            server.App.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping.Register(() => stopping.TrySetResult());
            var stop = server.App.StopAsync(bound.Token);
            await stopping.Task.WaitAsync(bound.Token);
            gate.Open();
            var text = await reading;
            await stop;
            Check(name, (int)response.StatusCode, response.Content.Headers.ContentType?.ToString() ?? "", text);
        }
        finally
        {
            gate.Open();
            await server.DisposeAsync();
        }
    }

    private static HttpRequestMessage Plain(string path, string json)
        => new(HttpMethod.Post, path) { Content = new StringContent(json, Encoding.UTF8, "application/json") };

    private static void Check(string name, int status, string contentType, string body)
    {
        var actual = new JsonObject { ["name"] = name, ["status"] = status, ["content_type"] = contentType, ["body"] = Normalize(body) };
        if (Recording)
        {
            lock (RecordLock)
            {
                var lines = File.Exists(GoldenPath) ? File.ReadAllLines(GoldenPath).Where(l => JsonNode.Parse(l)!["name"]!.GetValue<string>() != name).ToList() : [];
                lines.Add(actual.ToJsonString());
                Directory.CreateDirectory(Path.GetDirectoryName(GoldenPath)!);
                File.WriteAllLines(GoldenPath, lines.Order(StringComparer.Ordinal));
            }
            return;
        }
        var expected = File.ReadLines(GoldenPath).Select(l => JsonNode.Parse(l)!).SingleOrDefault(n => n["name"]!.GetValue<string>() == name)
            ?? throw new InvalidOperationException($"no recorded response '{name}' in {GoldenPath}");
        Assert.Equal(expected["status"]!.GetValue<int>(), status);
        Assert.Equal(expected["content_type"]!.GetValue<string>(), contentType);
        Assert.Equal(expected["body"]!.GetValue<string>(), Normalize(body));
    }

    /// <summary>Masks ids and times; puts an SSE stream's chunks in choice order (stable within a choice), the rest after.</summary>
    private static string Normalize(string body)
    {
        body = IdRegex().Replace(body, m => m.Groups[1].Value + "ID");
        body = CreatedRegex().Replace(body, "\"created\":0");
        if (!body.StartsWith("data: ", StringComparison.Ordinal))
        {
            return body;
        }
        var events = body.Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        int Key(string e)
        {
            var json = e["data: ".Length..];
            if (json == "[DONE]" || !json.StartsWith('{'))
            {
                return int.MaxValue;
            }
            using var doc = JsonDocument.Parse(json);
            return doc.RootElement.TryGetProperty("choices", out var c) && c.GetArrayLength() == 1 ? c[0].GetProperty("index").GetInt32() : int.MaxValue;
        }
        return string.Join("\n\n", events.Select((e, i) => (e, i)).OrderBy(x => Key(x.e)).ThenBy(x => x.i).Select(x => x.e)) + "\n\n";
    }

    [GeneratedRegex("\\b(chatcmpl-|cmpl-|call_)[A-Za-z0-9]{24,29}\\b")]
    private static partial Regex IdRegex();

    [GeneratedRegex("\"created\":[0-9]+")]
    private static partial Regex CreatedRegex();

    /// <summary>The scripted server (8 slots) with the cases' outputs registered, and the real tiny test model.</summary>
    /// <summary>
    /// Both servers run without prefix caching: with it, a response's <c>cached_tokens</c> would depend on which cases ran
    /// before on the same server. The reuse itself is tested in <c>PrefixCacheUsageTests</c>.
    /// </summary>
    public sealed class Servers : IAsyncLifetime
    {
        public BatchScriptedServerFixture Scripted { get; } = new UncachedScripted();

        public ServerFixture Demo { get; } = new UncachedDemo();

        public async Task InitializeAsync()
        {
            await Scripted.InitializeAsync();
            await Demo.InitializeAsync();
            Scripted.Script("gk-plain", "Hello there, world. How are you today?");
            Scripted.Script("gk-stop", "alpha beta gamma END-OF-TEXT delta");
            Scripted.Script("gk-tools", TwoCalls);
            Scripted.Script("gk-required", "{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Oslo\"}}\n</tool_call>");
            Scripted.Script("gk-named", "{\"city\": \"Oslo\"}}\n</tool_call>");
            var row = new Dictionary<int, float>();
            foreach (var (word, logit) in new[] { ("yes", 2.0f), ("no", 1.5f), ("maybe", 1.0f), ("never", -0.5f) })
            {
                row[Scripted.Model.Tokenizer.Encode(word).Single()] = logit;
            }
            Scripted.ScriptLogits("gk-row", row);
        }

        public async Task DisposeAsync()
        {
            await Scripted.DisposeAsync();
            await Demo.DisposeAsync();
        }

        private sealed class UncachedDemo() : ServerFixture(["--max-seqs-per-request", "4", "--prefix-caching", "false"]);

        private sealed class UncachedScripted() : BatchScriptedServerFixture(["--prefix-caching", "false"]);
    }
}
