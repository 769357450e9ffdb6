using System.Net;
using System.Text;
using System.Text.Json;
using Qwen.Server.Tests.Endpoints;

namespace Qwen.Server.Tests.Validation;

/// <summary>
/// A prompt that cannot fit the context is refused before it is tokenized: Qwen2.5's longest token stands for 128 bytes
/// (128 spaces; QwenTokenizerBoundTests checks it against vocab.json), so B bytes need at least ceil(B / 128) tokens. Just
/// above the bound the 400 comes with no encode at all (the tokenizer's own count of encodes is the oracle); just below it
/// the prompt is tokenized and refused by the exact check. Same 400 either way, in the existing check's shape.
/// </summary>
public sealed class EarlyLengthCheckTests(PromptWorkServerFixture server) : IClassFixture<PromptWorkServerFixture>
{
    private const int MaxModelLen = 512; // ServerFixture's
    private const int MaxTokenBytes = 128;

    [Fact]
    public async Task CompletionsPrompt_JustAboveTheBound_400WithoutEncoding_JustBelow_EncodedThen400()
    {
        // 511 * 128 + 1 bytes need at least 512 tokens: no room left for one completion token.
        var above = await Post("/v1/completions", new { prompt = new string('x', ((MaxModelLen - 1) * MaxTokenBytes) + 1) }, expectEncodes: 0);
        AssertContextLength(above, "prompt", "at least 513 tokens (at least 512 in the prompt, 1 in the completion)");
        var below = await Post("/v1/completions", new { prompt = new string('x', (MaxModelLen - 1) * MaxTokenBytes) }, expectEncodes: 1);
        AssertContextLength(below, "prompt", null);
        Assert.DoesNotContain("at least", below.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task MaxTokens_CountsInTheBound()
    {
        // 401 tokens at least, plus 112 asked: 513 > 512.
        var error = await Post("/v1/completions", new { prompt = new string('x', (400 * MaxTokenBytes) + 1), max_tokens = 112 }, expectEncodes: 0);
        AssertContextLength(error, "prompt", "at least 513 tokens (at least 401 in the prompt, 112 in the completion)");
    }

    [Fact]
    public async Task ChatAndResponses_ContentBeyondTheBound_400WithoutEncoding()
    {
        var content = new string('y', MaxModelLen * MaxTokenBytes);
        var chat = await Post("/v1/chat/completions", new { messages = new[] { new { role = "user", content } } }, expectEncodes: 0);
        AssertContextLength(chat, "messages", "at least");
        var responses = await Post("/v1/responses", new { input = content }, expectEncodes: 0);
        AssertContextLength(responses, "input", "at least");
    }

    private static void AssertContextLength(JsonElement error, string param, string? contains)
    {
        Assert.Equal("context_length_exceeded", error.GetProperty("code").GetString());
        Assert.Equal(param, error.GetProperty("param").GetString());
        var message = error.GetProperty("message").GetString()!;
        Assert.StartsWith($"This model's maximum context length is {MaxModelLen} tokens. However, you requested ", message, StringComparison.Ordinal);
        if (contains is not null)
        {
            Assert.Contains(contains, message, StringComparison.Ordinal);
        }
    }

    /// <summary>Sends the body, expects a 400, and checks how many texts the server's tokenizer encoded meanwhile.</summary>
    private async Task<JsonElement> Post(string path, object body, int expectEncodes)
    {
        var before = server.Model.Tokenizer.EncodeCount;
        using var response = await server.Http.PostAsync(path, new StringContent(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json"));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{path}: {(int)response.StatusCode} {text}");
        Assert.Equal(expectEncodes, server.Model.Tokenizer.EncodeCount - before);
        return JsonDocument.Parse(text).RootElement.GetProperty("error");
    }
}
