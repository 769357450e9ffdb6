using System.Text;
using System.Text.Json;

namespace Qwen.Server.Tests.Conformance;

/// <summary>
/// Cases ported from the public OpenAI-compatibility suites (llama.cpp tools/server/tests/unit/test_chat_completion.py
/// and test_tool_call.py; vLLM tests/entrypoints/openai/test_chat.py and test_completion_with_function_calling.py),
/// run against the real server and the real tiny test model over a socket: the stream's shape, the usage chunk, logprobs
/// that add up to the content, and a forced call cut by max_completion_tokens.
/// </summary>
public sealed class ChatStreamConformanceTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    private const string Tools = """[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}},{"type":"function","function":{"name":"get_time"}}]""";

    [Fact]
    public async Task Stream_NTwo_RoleOnlyFirstOneIdOneFinishPerChoice()
    {
        // llama.cpp test_chat_completion_stream / vLLM test_chat_streaming: the role comes once per choice, first;
        // every chunk carries the same id and created; each choice ends with exactly one finish_reason.
        var answer = await ChatAnswer.StreamAsync(server.Http, """{"messages":[{"role":"user","content":"Tell me a story"}],"n":2,"max_tokens":8,"seed":3,"stream":true}""");
        Assert.EndsWith("data: [DONE]\n\n", answer.Raw, StringComparison.Ordinal);
        Assert.Single(answer.Chunks.Select(c => c.GetProperty("id").GetString()).Distinct());
        Assert.Single(answer.Chunks.Select(c => c.GetProperty("created").GetInt64()).Distinct());
        Assert.All(answer.Chunks, c => Assert.Equal("chat.completion.chunk", c.GetProperty("object").GetString()));
        Assert.All(answer.Chunks, c => Assert.False(c.TryGetProperty("usage", out var u) && u.ValueKind != JsonValueKind.Null, "usage without include_usage"));
        for (var index = 0; index < 2; index++)
        {
            var choices = answer.Chunks.SelectMany(c => c.GetProperty("choices").EnumerateArray()).Where(c => c.GetProperty("index").GetInt32() == index).ToList();
            Assert.NotEmpty(choices);
            Assert.Equal("assistant", choices[0].GetProperty("delta").GetProperty("role").GetString());
            Assert.All(choices.Skip(1), c => Assert.False(c.GetProperty("delta").TryGetProperty("role", out _), "role after the first chunk"));
            var finishes = choices.Where(c => c.GetProperty("finish_reason").ValueKind != JsonValueKind.Null).ToList();
            Assert.Single(finishes);
            Assert.Equal(choices[^1].GetRawText(), finishes[0].GetRawText());
            Assert.Contains(finishes[0].GetProperty("finish_reason").GetString(), new[] { "stop", "length" });
        }
    }

    [Fact]
    public async Task Stream_IncludeUsage_LastChunkHasEmptyChoicesAndUsageOnly()
    {
        // vLLM test_chat_completion_stream_options: only the last chunk has usage, and it has no choices.
        var answer = await ChatAnswer.StreamAsync(server.Http, """{"messages":[{"role":"user","content":"What is the capital of France?"}],"max_tokens":5,"stream":true,"stream_options":{"include_usage":true}}""");
        var last = answer.Chunks[^1];
        Assert.Empty(last.GetProperty("choices").EnumerateArray());
        var usage = last.GetProperty("usage");
        Assert.Equal(usage.GetProperty("prompt_tokens").GetInt32() + usage.GetProperty("completion_tokens").GetInt32(), usage.GetProperty("total_tokens").GetInt32());
        Assert.InRange(usage.GetProperty("completion_tokens").GetInt32(), 1, 5);
        Assert.All(answer.Chunks.SkipLast(1), c => Assert.False(c.TryGetProperty("usage", out var u) && u.ValueKind != JsonValueKind.Null, "usage before the last chunk"));
        Assert.All(answer.Chunks.SkipLast(1), c => Assert.NotEmpty(c.GetProperty("choices").EnumerateArray()));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Logprobs_EachTokensBytesJoined_EqualTheContent(bool stream)
    {
        // llama.cpp test_logprobs / test_logprobs_stream: the tokens' text adds up to the content. bytes is exact even
        // where a token ends inside a UTF-8 character; a stop token (<|im_end|>) is listed but not shown.
        var body = """{"messages":[{"role":"user","content":"Write a poem"}],"max_tokens":12,"seed":11,"logprobs":true,"top_logprobs":1,"ignore_eos":true""" + (stream ? ",\"stream\":true}" : "}");
        using var response = await server.Http.SendAsync(ChatAnswer.Post(body));
        var raw = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, raw);
        var content = new StringBuilder();
        var bytes = new List<byte>();
        var choices = stream
            ? raw.Split("\n\n", StringSplitOptions.RemoveEmptyEntries).Where(e => e != "data: [DONE]").Select(e => JsonDocument.Parse(e["data: ".Length..]).RootElement.GetProperty("choices")[0])
            : [JsonDocument.Parse(raw).RootElement.GetProperty("choices")[0]];
        var count = 0;
        foreach (var choice in choices)
        {
            var message = choice.GetProperty(stream ? "delta" : "message");
            content.Append(message.TryGetProperty("content", out var c) ? c.GetString() : null);
            if (choice.TryGetProperty("logprobs", out var lp) && lp.ValueKind == JsonValueKind.Object)
            {
                foreach (var token in lp.GetProperty("content").EnumerateArray())
                {
                    bytes.AddRange(token.GetProperty("bytes").EnumerateArray().Select(b => (byte)b.GetInt32()));
                    count++;
                }
            }
        }
        Assert.Equal(12, count);
        Assert.Equal(content.ToString(), Encoding.UTF8.GetString([.. bytes]));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task MaxCompletionTokensOne_Required_ACallOfTheFirstToolFinishLength(bool stream)
    {
        // llama.cpp test_tool_call (completion cut short) / vLLM: a forced call cut by the limit is still a tool call.
        var body = $$"""{"messages":[{"role":"user","content":"What is the weather in Paris?"}],"tools":{{Tools}},"tool_choice":"required","max_completion_tokens":1""" + (stream ? ",\"stream\":true}" : "}");
        var answer = stream ? await ChatAnswer.StreamAsync(server.Http, body) : await ChatAnswer.WholeAsync(server.Http, body);
        Assert.Null(answer.Content);
        Assert.Equal("length", answer.Finish);
        var call = Assert.Single(answer.Calls);
        // One token cannot finish a name, so it is the first tool whose name begins with what was written.
        Assert.Equal("get_weather", call.Name);
        Assert.Equal("", call.Arguments);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task MaxCompletionTokensOne_NamedFunction_ThatFunctionWithArgumentsBegunFinishLength(bool stream)
    {
        var body = $$$"""{"messages":[{"role":"user","content":"What time is it?"}],"tools":{{{Tools}}},"tool_choice":{"type":"function","function":{"name":"get_time"}},"max_completion_tokens":1""" + (stream ? ",\"stream\":true}" : "}");
        var answer = stream ? await ChatAnswer.StreamAsync(server.Http, body) : await ChatAnswer.WholeAsync(server.Http, body);
        Assert.Null(answer.Content);
        Assert.Equal("length", answer.Finish);
        var call = Assert.Single(answer.Calls);
        Assert.Equal("get_time", call.Name);
        // The grammar's first token opens the arguments object (or is whitespace before it): "" or the object's start.
        Assert.True(call.Arguments.Trim().Length == 0 || call.Arguments.TrimStart().StartsWith('{'), call.Arguments);
    }
}
