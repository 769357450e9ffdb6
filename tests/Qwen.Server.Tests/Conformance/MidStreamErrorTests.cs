using System.Text.Json;

namespace Qwen.Server.Tests.Conformance;

/// <summary>
/// An error after a stream started (llama.cpp's and vLLM's streaming error cases): the client has the chunks sent so
/// far, then one <c>data:</c> event with the OpenAI error body, then <c>data: [DONE]</c>; and the server goes on serving.
/// </summary>
public sealed class MidStreamErrorTests(FaultingServerFixture server) : IClassFixture<FaultingServerFixture>
{
    [Fact]
    public async Task ModelFailsMidStream_ErrorEventThenDone_NextRequestServed()
    {
        server.Script("key-fault", "one two three four five six");
        server.FailAfter(2);
        using var response = await server.Http.SendAsync(ChatAnswer.Post("""{"messages":[{"role":"user","content":"key-fault"}],"stream":true}"""), HttpCompletionOption.ResponseHeadersRead);
        Assert.True(response.IsSuccessStatusCode);
        var events = (await response.Content.ReadAsStringAsync()).Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("data: [DONE]", events[^1]);
        var error = JsonDocument.Parse(events[^2]["data: ".Length..]).RootElement.GetProperty("error");
        Assert.Equal("server_error", error.GetProperty("type").GetString());
        Assert.True(error.TryGetProperty("message", out _) && error.TryGetProperty("param", out _) && error.TryGetProperty("code", out _));
        var chunks = events[..^2].Select(e => JsonDocument.Parse(e["data: ".Length..]).RootElement).ToList();
        Assert.NotEmpty(chunks);
        Assert.Equal("assistant", chunks[0].GetProperty("choices")[0].GetProperty("delta").GetProperty("role").GetString());
        Assert.DoesNotContain(chunks, c => c.GetProperty("choices")[0].GetProperty("finish_reason").ValueKind != JsonValueKind.Null);

        server.Script("key-after", "fine");
        var answer = await ChatAnswer.WholeAsync(server.Http, """{"messages":[{"role":"user","content":"key-after"}]}""");
        Assert.Equal("fine", answer.Content);
    }
}
